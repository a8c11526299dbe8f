import {
  createTheme,
  defaultVariantColorsResolver,
  Drawer,
  Modal,
  NavLink,
  Notification,
  parseThemeColor,
  type CSSVariablesResolver,
  type VariantColorsResolver,
} from '@mantine/core';

// Colors chosen for WCAG AA contrast (axe-core checks every main screen in the browser walkthrough): filled surfaces
// use shade 9 (white text stays readable), light surfaces use shade 0 behind text darkened from shade 9, and dimmed
// and error text use darker grays and reds than Mantine's defaults.

const variantsWithColoredText = new Set(['light', 'outline', 'subtle', 'transparent']);

const readableVariantColors: VariantColorsResolver = (input) => {
  const colors = defaultVariantColorsResolver(input);
  if (!input.variant || !variantsWithColoredText.has(input.variant)) return colors;
  const parsed = parseThemeColor({ color: input.color ?? input.theme.primaryColor, theme: input.theme });
  if (!parsed.isThemeColor) return colors;
  const readableText = `color-mix(in srgb, var(--mantine-color-${parsed.color}-9) 75%, black)`;
  if (input.variant === 'light') {
    return {
      ...colors,
      background: `var(--mantine-color-${parsed.color}-0)`,
      hover: `var(--mantine-color-${parsed.color}-1)`,
      color: readableText,
    };
  }
  return { ...colors, color: readableText };
};

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-error': 'var(--mantine-color-red-9)',
  },
  dark: {},
});

export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 9,
  autoContrast: true,
  // Modals, drawers and notifications appear without animation for people who ask their system for less motion.
  respectReducedMotion: true,
  defaultRadius: 'sm',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  variantColorResolver: readableVariantColors,
  components: {
    // Icon-only close buttons get a name screen readers can announce.
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close dialog' } } }),
    Drawer: Drawer.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close panel' } } }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss notification' } },
      styles: { description: { color: 'var(--mantine-color-gray-8)' } },
    }),
    // The active navigation entry: a pale background behind dark text.
    NavLink: NavLink.extend({
      vars: () => ({
        root: {
          '--nl-bg': 'var(--mantine-color-indigo-0)',
          '--nl-hover': 'var(--mantine-color-indigo-1)',
          '--nl-color': 'var(--mantine-color-indigo-9)',
        },
        children: {},
      }),
    }),
  },
});
