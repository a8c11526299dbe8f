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
  // In dark mode (light-dark() follows Mantine's color-scheme) the pale shades swap for dark ones and the text for
  // light: the same contrast, inverted.
  const readableText = `light-dark(color-mix(in srgb, var(--mantine-color-${parsed.color}-9) 75%, black), var(--mantine-color-${parsed.color}-2))`;
  if (input.variant === 'light') {
    return {
      ...colors,
      background: `light-dark(var(--mantine-color-${parsed.color}-0), color-mix(in srgb, var(--mantine-color-${parsed.color}-9) 45%, var(--mantine-color-dark-7)))`,
      hover: `light-dark(var(--mantine-color-${parsed.color}-1), color-mix(in srgb, var(--mantine-color-${parsed.color}-9) 60%, var(--mantine-color-dark-7)))`,
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
  dark: {
    '--mantine-color-dimmed': 'var(--mantine-color-dark-1)',
    '--mantine-color-error': 'var(--mantine-color-red-4)',
    '--mantine-color-anchor': 'var(--mantine-color-indigo-3)',
  },
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
      styles: { description: { color: 'light-dark(var(--mantine-color-gray-8), var(--mantine-color-dark-0))' } },
    }),
    // The active navigation entry: a pale background behind dark text.
    NavLink: NavLink.extend({
      vars: () => ({
        root: {
          '--nl-bg': 'light-dark(var(--mantine-color-indigo-0), var(--mantine-color-indigo-9))',
          '--nl-hover': 'light-dark(var(--mantine-color-indigo-1), var(--mantine-color-indigo-8))',
          '--nl-color': 'light-dark(var(--mantine-color-indigo-9), var(--mantine-color-white))',
        },
        children: {},
      }),
    }),
  },
});
