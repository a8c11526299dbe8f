/**
 * Request and response facts that read as strings and also have members, as ngrok documents them:
 * `req.user_agent` (the header, with `.name`, `.os`, `.is_bot`, … parsed by bowser) and `req.content_type` /
 * `res.content_type` (the media type, with `.parameters` and `.raw`). Like `req.url`, they compare equal to a string
 * and answer the string-like methods (cel-functions.ts); `string(x)` gives the text.
 */
import Bowser from 'bowser';

/** The User-Agent header, parsed on first use of a member (most rules only compare or search the text). */
export class UserAgent {
  #parsed: ParsedUserAgent | undefined;

  constructor(readonly raw: string) {}

  toString(): string {
    return this.raw;
  }

  get name(): string {
    return this.parsed.name;
  }
  get version(): string {
    return this.parsed.version;
  }
  get os(): string {
    return this.parsed.os;
  }
  get os_version(): string {
    return this.parsed.osVersion;
  }
  get device(): string {
    return this.parsed.device;
  }
  get is_mobile(): boolean {
    return this.parsed.platform === 'mobile';
  }
  get is_tablet(): boolean {
    return this.parsed.platform === 'tablet';
  }
  get is_desktop(): boolean {
    return this.parsed.platform === 'desktop';
  }
  get is_bot(): boolean {
    return this.parsed.bot;
  }
  get url(): string {
    return this.parsed.url;
  }

  private get parsed(): ParsedUserAgent {
    return (this.#parsed ??= parseUserAgent(this.raw));
  }
}

interface ParsedUserAgent {
  name: string;
  version: string;
  os: string;
  osVersion: string;
  device: string;
  platform: string;
  bot: boolean;
  url: string;
}

/**
 * bowser's names where ngrok's parser (Go's mileusna/useragent) spells them differently: ngrok's user-agent filtering
 * example matches `req.user_agent.name == 'Edge'`.
 */
const ngrokNames: ReadonlyMap<string, string> = new Map([
  ['Microsoft Edge', 'Edge'],
  ['Chrome OS', 'ChromeOS'],
]);

/** Header values are bounded by the data plane, but the parser's regexes need not see more than a browser sends. */
const maxParsedLength = 1024;

export function parseUserAgent(header: string): ParsedUserAgent {
  const text = header.slice(0, maxParsedLength);
  const result = text === '' ? undefined : Bowser.parse(text);
  let name = result?.browser.name ?? '';
  let version = result?.browser.version ?? '';
  // Tools (curl/8.4.0, python-requests/2.31) are no browser to bowser; their first product token names them.
  if (name === '') {
    const product = /^([A-Za-z][\w.-]*)\/([\w.-]+)/.exec(text);
    if (product !== null && product[1] !== 'Mozilla') {
      name = product[1]!;
      version = product[2]!;
    }
  }
  name = ngrokNames.get(name) ?? name;
  const platform = result?.platform.type ?? '';
  const url = /\bhttps?:\/\/[^\s;)]+/.exec(text)?.[0] ?? '';
  return {
    name,
    version,
    os: ngrokNames.get(result?.os.name ?? '') ?? result?.os.name ?? '',
    osVersion: result?.os.version ?? '',
    device: result?.platform.model ?? '',
    platform,
    bot: platform === 'bot' || /bot\b|crawler|spider|slurp/i.test(text),
    url,
  };
}

/** A Content-Type header: equal to its media type (lower-case, no parameters), with `.parameters` and `.raw`. */
export class ContentType {
  readonly mediaType: string;
  readonly #parameters: Map<string, string>;

  constructor(readonly raw: string) {
    const [type = '', ...parameters] = raw.split(';');
    this.mediaType = type.trim().toLowerCase();
    this.#parameters = new Map();
    for (const parameter of parameters) {
      const separator = parameter.indexOf('=');
      if (separator <= 0) continue;
      const name = parameter.slice(0, separator).trim().toLowerCase();
      let value = parameter.slice(separator + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (!this.#parameters.has(name)) this.#parameters.set(name, value);
    }
  }

  get parameters(): Map<string, string> {
    return this.#parameters;
  }

  toString(): string {
    return this.mediaType;
  }
}
