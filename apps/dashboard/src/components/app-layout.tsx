import { Anchor, AppShell, Badge, Burger, Button, Group, NavLink, ScrollArea, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconActivityHeartbeat,
  IconChartBar,
  IconHistory,
  IconKey,
  IconPlugConnected,
  IconListDetails,
  IconLogout,
  IconNetwork,
  IconRoute,
  IconShieldLock,
  IconUsers,
} from '@tabler/icons-react';
import { Suspense } from 'react';
import { NavLink as RouterNavLink, Outlet, useLocation } from 'react-router';
import { useSignOutMutation } from '../api/auth.api';
import { paths } from '../paths';
import { useCurrentActor, usePermissions } from '../session/session';
import classes from './app-layout.module.css';
import { LoadingState } from './query-states';

interface NavigationItem {
  label: string;
  to: string;
  icon: typeof IconRoute;
  adminOnly?: boolean;
}

const navigationItems: NavigationItem[] = [
  { label: 'Overview', to: paths.overview, icon: IconChartBar },
  { label: 'Endpoints', to: paths.endpoints, icon: IconRoute },
  { label: 'Request log', to: paths.requestLogs, icon: IconListDetails },
  { label: 'IP categories', to: paths.ipCategories, icon: IconNetwork },
  { label: 'Data planes', to: paths.dataplanes, icon: IconActivityHeartbeat },
  { label: 'Audit log', to: paths.auditEvents, icon: IconHistory },
  { label: 'Authtokens', to: paths.authtokens, icon: IconPlugConnected },
  { label: 'API keys', to: paths.apiKeys, icon: IconKey, adminOnly: true },
  { label: 'Users', to: paths.users, icon: IconUsers, adminOnly: true },
];

export function AppLayout() {
  const [navigationOpened, { toggle: toggleNavigation, close: closeNavigation }] = useDisclosure();
  const actor = useCurrentActor();
  const { isAdmin } = usePermissions();
  const signOut = useSignOutMutation();
  const location = useLocation();

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !navigationOpened } }}
      padding="lg"
    >
      <AppShell.Header>
        <Anchor href="#main-content" className={classes.skipLink}>
          Skip to content
        </Anchor>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger
              opened={navigationOpened}
              onClick={toggleNavigation}
              hiddenFrom="sm"
              size="sm"
              aria-label="Toggle navigation"
            />
            <IconShieldLock size={22} aria-hidden />
            <Text fw={700} size="lg">
              Gatehouse
            </Text>
          </Group>
          <Group gap="sm">
            <Text size="sm" data-testid="signed-in-as">
              {actor.name}
            </Text>
            <Badge variant="outline" data-testid="signed-in-role">
              {actor.role}
            </Badge>
            <Button
              variant="subtle"
              size="xs"
              leftSection={<IconLogout size={14} />}
              loading={signOut.isPending}
              onClick={() => signOut.mutate()}
            >
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <ScrollArea>
          {navigationItems
            .filter((item) => !item.adminOnly || isAdmin)
            .map((item) => (
              <NavLink
                key={item.to}
                component={RouterNavLink}
                to={item.to}
                label={item.label}
                leftSection={<item.icon size={18} aria-hidden />}
                active={location.pathname === item.to || location.pathname.startsWith(`${item.to}/`)}
                onClick={closeNavigation}
              />
            ))}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main id="main-content" tabIndex={-1}>
        <Suspense fallback={<LoadingState label="Loading…" />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
