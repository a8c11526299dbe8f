export type { paths, components, operations } from './schema.js';
export * from './api-error.js';
export * from './client.js';
export * from './pages.js';

import type { components } from './schema.js';

/** The API's named shapes (`Schemas['Endpoint']`, `Schemas['PolicyVersion']`, …), as the OpenAPI document has them. */
export type Schemas = components['schemas'];
