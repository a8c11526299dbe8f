import { Navigate, type RouteObject } from 'react-router';
import { AppLayout } from './components/app-layout';
import { LoadingState } from './components/query-states';
import { ApiKeysPage } from './pages/api-keys.page';
import { AuditEventsPage } from './pages/audit-events.page';
import { AgentsPage } from './pages/agents.page';
import { AiUsagePage } from './pages/ai-usage.page';
import { AuthtokensPage } from './pages/authtokens.page';
import { VaultsPage } from './pages/vaults.page';
import { DataplanesPage } from './pages/dataplanes.page';
import { IpCategoriesPage } from './pages/ip-categories.page';
import { RequestLogsPage } from './pages/request-logs.page';
import { UsersPage } from './pages/users.page';
import { RequireRole } from './session/require-role';
import { paths } from './paths';
import { EndpointDetailPage } from './pages/endpoint-detail.page';
import { EndpointSettingsPage } from './pages/endpoint-settings.page';
import { EndpointsListPage } from './pages/endpoints-list.page';
import { FirstRunSetupPage } from './pages/first-run-setup.page';
import { NewEndpointPage } from './pages/new-endpoint.page';
import { NotFoundPage } from './pages/not-found.page';
import { EndpointTrafficPage } from './pages/endpoint-traffic.page';
import { OverviewPage } from './pages/overview.page';
import { SignInPage } from './pages/sign-in.page';
import { SessionGate } from './session/session-gate';

// Monaco is large: the pages that edit or compare policies load it on first visit, not at sign-in.
const lazyPolicyPage = () =>
  import('./pages/endpoint-policy.page').then((module) => ({ Component: module.EndpointPolicyPage }));
const lazyVersionsPage = () =>
  import('./pages/endpoint-versions.page').then((module) => ({ Component: module.EndpointVersionsPage }));

/** The dashboard's one route table. */
export const routes: RouteObject[] = [
  {
    // Shown while the first page's lazily loaded code arrives (e.g. opening a policy link directly).
    hydrateFallbackElement: <LoadingState label="Loading Gatehouse…" />,
    children: [
      { path: paths.signIn, element: <SignInPage /> },
      { path: paths.setup, element: <FirstRunSetupPage /> },
      {
        element: <SessionGate />,
        children: [
          {
            element: <AppLayout />,
            children: [
              // Signing in lands on the overview: is traffic flowing, what is being blocked.
              { index: true, element: <Navigate to={paths.overview} replace /> },
              { path: paths.overview, element: <OverviewPage /> },
              { path: paths.endpoints, element: <EndpointsListPage /> },
              { path: paths.newEndpoint, element: <NewEndpointPage /> },
              {
                path: '/endpoints/:endpointId',
                element: <EndpointDetailPage />,
                children: [
                  { index: true, element: <Navigate to="policy" replace /> },
                  { path: 'policy', lazy: lazyPolicyPage },
                  { path: 'versions', lazy: lazyVersionsPage },
                  { path: 'settings', element: <EndpointSettingsPage /> },
                  { path: 'traffic', element: <EndpointTrafficPage /> },
                ],
              },
              { path: paths.requestLogs, element: <RequestLogsPage /> },
              { path: paths.aiUsage, element: <AiUsagePage /> },
              { path: paths.ipCategories, element: <IpCategoriesPage /> },
              { path: paths.dataplanes, element: <DataplanesPage /> },
              { path: paths.auditEvents, element: <AuditEventsPage /> },
              { path: paths.authtokens, element: <AuthtokensPage /> },
              { path: paths.agents, element: <AgentsPage /> },
              { path: paths.vaults, element: <VaultsPage /> },
              {
                element: <RequireRole role="admin" />,
                children: [
                  { path: paths.apiKeys, element: <ApiKeysPage /> },
                  { path: paths.users, element: <UsersPage /> },
                ],
              },
              { path: '*', element: <NotFoundPage /> },
            ],
          },
        ],
      },
    ],
  },
];
