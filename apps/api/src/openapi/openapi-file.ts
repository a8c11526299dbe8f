import type { OpenAPIObject } from '@nestjs/swagger';

/** The committed file's exact format (stable key order comes from the route declarations). */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
