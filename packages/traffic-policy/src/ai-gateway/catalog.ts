import type { AiWireFormat } from '../ports.js';
import catalogFile from './model-catalog.json' with { type: 'json' };

/** One model of the shipped catalog (`model-catalog.json`), or of a policy's provider list. */
export interface CatalogModel {
  readonly provider: string;
  readonly id: string;
  readonly aliases: readonly string[];
  readonly context_window?: number;
  readonly input_per_million?: number;
  readonly output_per_million?: number;
  /** Reasoning models (OpenAI o-series) refuse sampling parameters; they are stripped before sending. */
  readonly reasoning?: boolean;
}

/** The providers Gatehouse knows without configuration: their wire format and public base URL. */
export interface BuiltinProvider {
  readonly id: string;
  readonly format: AiWireFormat;
  readonly baseUrl: string;
}

export const builtinProviders: readonly BuiltinProvider[] = [
  { id: 'openai', format: 'openai', baseUrl: 'https://api.openai.com/v1' },
  { id: 'anthropic', format: 'anthropic', baseUrl: 'https://api.anthropic.com/v1' },
];

/** The date the shipped prices and context windows were taken from the providers' published lists. */
export const modelCatalogDate: string = catalogFile.prices_as_of;

export const modelCatalog: readonly CatalogModel[] = catalogFile.models;

export function catalogModelsOf(provider: string): readonly CatalogModel[] {
  return modelCatalog.filter((model) => model.provider === provider);
}
