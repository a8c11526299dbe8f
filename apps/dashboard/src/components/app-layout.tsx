import {
  ActionIcon,
  Anchor,
  AppShell,
  Badge,
  Burger,
  Button,
  Group,
  NavLink,
  ScrollArea,
  Text,
  Tooltip,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconActivityHeartbeat,
  IconChartBar,
  IconCoin,
  IconHistory,
  IconKeyboard,
  IconKey,
  IconLock,
  IconPlugConnected,
  IconRobot,
  IconListDetails,
  IconLogout,
  IconMoon,
  IconNetwork,
  IconRoute,
  IconShieldLock,
  IconSun,
  IconUsers,
} from '@tabler/icons-react';
import { Suspense, useMemo } from 'react';
import { NavLink as RouterNavLink, Outlet, useLocation } from 'react-router';
import { useSignOutMutation } from '../api/auth.api';
import { paths } from '../paths';
import { useCurrentActor, usePermissions } from '../session/session';
import classes from './app-layout.module.css';
import { KeyboardShortcutsDialog, useKeyboardShortcuts } from './keyboard-shortcuts';
import { LoadingState } from './query-states';

interface NavigationItem {
  label: string;
  to: string;
  icon: typeof IconRoute;
  adminOnly?: boolean;
  /** The letter after `g` that opens the page (keyboard-shortcuts.tsx). */
  shortcut: string;
}

const navigationItems: NavigationItem[] = [
  { label: 'Overview', to: paths.overview, icon: IconChartBar, shortcut: 'o' },
  { label: 'Endpoints', to: paths.endpoints, icon: IconRoute, shortcut: 'e' },
  { label: 'Request log', to: paths.requestLogs, icon: IconListDetails, shortcut: 'l' },
  { label: 'AI usage', to: paths.aiUsage, icon: IconCoin, shortcut: 'c' },
  { label: 'IP categories', to: paths.ipCategories, icon: IconNetwork, shortcut: 'i' },
  { label: 'Data planes', to: paths.dataplanes, icon: IconActivityHeartbeat, shortcut: 'd' },
  { label: 'Audit log', to: paths.auditEvents, icon: IconHistory, shortcut: 'a' },
  { label: 'Agents', to: paths.agents, icon: IconRobot, shortcut: 's' },
  { label: 'Authtokens', to: paths.authtokens, icon: IconPlugConnected, shortcut: 't' },
  { label: 'Vaults', to: paths.vaults, icon: IconLock, shortcut: 'v' },
  { label: 'API keys', to: paths.apiKeys, icon: IconKey, adminOnly: true, shortcut: 'k' },
  { label: 'Users', to: paths.users, icon: IconUsers, adminOnly: true, shortcut: 'u' },
];

/** Light/dark: follows the OS until the user picks one here; Mantine keeps the choice in localStorage. */
function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme('light');
  const next = computed === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={`Switch to ${next} mode`}>
      <ActionIcon
        variant="subtle"
        color="gray"
        size="lg"
        aria-label={`Switch to ${next} mode`}
        data-testid="color-scheme-toggle"
        data-color-scheme={computed}
        onClick={() => setColorScheme(next)}
      >
        {computed === 'dark' ? <IconSun size={18} aria-hidden /> : <IconMoon size={18} aria-hidden />}
      </ActionIcon>
    </Tooltip>
  );
}

export function AppLayout() {
  const [navigationOpened, { toggle: toggleNavigation, close: closeNavigation }] = useDisclosure();
  const actor = useCurrentActor();
  const { isAdmin } = usePermissions();
  const signOut = useSignOutMutation();
  const location = useLocation();
  const [shortcutsOpened, { open: openShortcuts, close: closeShortcuts }] = useDisclosure();
  const visibleItems = useMemo(() => navigationItems.filter((item) => !item.adminOnly || isAdmin), [isAdmin]);
  const shortcuts = useMemo(
    () => visibleItems.map((item) => ({ key: item.shortcut, to: item.to, label: item.label })),
    [visibleItems],
  );
  useKeyboardShortcuts(shortcuts, openShortcuts);

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
        <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="xs">
          <Group gap="sm" wrap="nowrap">
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
          {/* At phone widths only the icons stay: the name and role move into the navigation drawer. */}
          <Group gap="xs" wrap="nowrap">
            <Text size="sm" data-testid="signed-in-as" visibleFrom="sm" truncate maw={220}>
              {actor.name}
            </Text>
            <Badge variant="outline" data-testid="signed-in-role" visibleFrom="sm">
              {actor.role}
            </Badge>
            <Tooltip label="Keyboard shortcuts (?)">
              <ActionIcon
                variant="subtle"
                color="gray"
                size="lg"
                aria-label="Keyboard shortcuts"
                onClick={openShortcuts}
                visibleFrom="sm"
              >
                <IconKeyboard size={18} aria-hidden />
              </ActionIcon>
            </Tooltip>
            <ColorSchemeToggle />
            <Button
              variant="subtle"
              size="xs"
              leftSection={<IconLogout size={14} aria-hidden />}
              loading={signOut.isPending}
              onClick={() => signOut.mutate()}
              visibleFrom="sm"
            >
              Sign out
            </Button>
            <ActionIcon
              variant="subtle"
              color="gray"
              size="lg"
              aria-label="Sign out"
              loading={signOut.isPending}
              onClick={() => signOut.mutate()}
              hiddenFrom="sm"
            >
              <IconLogout size={18} aria-hidden />
            </ActionIcon>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <ScrollArea>
          <Text size="sm" hiddenFrom="sm" px="sm" py={4} data-testid="signed-in-as-mobile">
            {actor.name} · {actor.role}
          </Text>
          {visibleItems.map((item) => (
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
      <KeyboardShortcutsDialog opened={shortcutsOpened} onClose={closeShortcuts} shortcuts={shortcuts} />
    </AppShell>
  );
}
