import { parseEndpointUrl, parseUpstreamUrl, type EndpointType } from '@gatehouse/contracts';

// The URL rules are @gatehouse/contracts', the ones the API applies, so a form flags exactly what the API would
// refuse; the API stays the authority and its 400 lands on the same field. The forms add only what to say about a
// field that is still empty.

/** Why `text` is not a valid URL for an endpoint of this type, or null when it is. */
export function describeEndpointUrlProblem(text: string, type: EndpointType): string | null {
  if (text.trim() === '') {
    return type === 'cloud'
      ? 'Enter the URL clients will call, e.g. https://mcp.example.com'
      : 'Enter the private URL cloud endpoints forward to; its host ends in .internal, e.g. https://mcp.example.internal';
  }
  const checked = parseEndpointUrl(text, type);
  return checked.ok ? null : checked.problem;
}

/** Why `text` is not a valid upstream for an internal endpoint, or null when it is. */
export function describeUpstreamUrlProblem(text: string): string | null {
  if (text.trim() === '') return 'Internal endpoints forward to an upstream: enter its URL, e.g. http://127.0.0.1:3333';
  const checked = parseUpstreamUrl(text);
  return checked.ok ? null : checked.problem;
}
