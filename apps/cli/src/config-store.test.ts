import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConfigFile, configFilePath, readConfigFile, resolveConnection, writeConfigFile } from './config-store.js';

const saved: ConfigFile = {
  version: 1,
  api_url: 'http://saved:4000',
  api_key: 'gh_saved000_secret',
  identity: 'a@b.c',
};

describe('configFilePath', () => {
  it('prefers GATEHOUSE_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configFilePath({ GATEHOUSE_CONFIG: '/x/c.json', XDG_CONFIG_HOME: '/xdg' })).toBe('/x/c.json');
    expect(configFilePath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/gatehouse/config.json');
    expect(configFilePath({ HOME: '/home/u' })).toBe('/home/u/.config/gatehouse/config.json');
    expect(configFilePath({ XDG_CONFIG_HOME: '', HOME: '/home/u' })).toBe('/home/u/.config/gatehouse/config.json');
  });
});

describe('resolveConnection', () => {
  it('takes the URL from the flag, then GATEHOUSE_API_URL, then the saved login, then the default', () => {
    expect(resolveConnection('http://flag:1/', { GATEHOUSE_API_URL: 'http://env:2' }, saved).apiUrl).toBe(
      'http://flag:1',
    );
    expect(resolveConnection(undefined, { GATEHOUSE_API_URL: 'http://env:2/api' }, saved).apiUrl).toBe('http://env:2');
    expect(resolveConnection(undefined, {}, saved).apiUrl).toBe('http://saved:4000');
    expect(resolveConnection(undefined, {}, null).apiUrl).toBe('http://127.0.0.1:4000');
  });

  it('lets GATEHOUSE_API_KEY override the saved key', () => {
    expect(resolveConnection(undefined, { GATEHOUSE_API_KEY: 'gh_env' }, saved)).toMatchObject({
      apiKey: 'gh_env',
      keySource: 'GATEHOUSE_API_KEY',
    });
    expect(resolveConnection(undefined, {}, saved)).toMatchObject({ apiKey: saved.api_key, keySource: 'config file' });
  });

  it('never sends the saved key to another server', () => {
    const connection = resolveConnection('http://elsewhere:4000', {}, saved);
    expect(connection.apiKey).toBeNull();
    expect(connection.missingKeyReason).toBe('the saved login is for http://saved:4000, not http://elsewhere:4000');
    // The same install spelled differently is still the same install.
    expect(resolveConnection('http://saved:4000/api/', {}, saved).apiKey).toBe(saved.api_key);
  });
});

describe('config file', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-cli-config-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is written with mode 0600 in a 0700 directory, replacing a permissive file', async () => {
    const path = join(directory, 'nested', 'config.json');
    await writeConfigFile(path, saved);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory, 'nested'))).mode & 0o777).toBe(0o700);
    await chmod(path, 0o644);
    await writeConfigFile(path, { ...saved, api_key: 'gh_new00000_secret' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ api_key: 'gh_new00000_secret' });
    expect(await readConfigFile(path)).toEqual({ config: { ...saved, api_key: 'gh_new00000_secret' } });
  });

  it('reads a missing file as no login and warns about a permissive one', async () => {
    expect(await readConfigFile(join(directory, 'absent.json'))).toEqual({ config: null });
    const path = join(directory, 'config.json');
    await writeFile(path, JSON.stringify(saved), { mode: 0o644 });
    await chmod(path, 0o644);
    const loaded = await readConfigFile(path);
    expect(loaded.config).toEqual(saved);
    expect(loaded.warning).toContain('readable by other users; run chmod 600');
  });

  it('refuses a damaged file with the field that is wrong', async () => {
    const path = join(directory, 'config.json');
    await writeFile(path, '{ not json', { mode: 0o600 });
    await expect(readConfigFile(path)).rejects.toThrow(/is not JSON/);
    await writeFile(path, JSON.stringify({ version: 1, api_url: 'http://x' }), { mode: 0o600 });
    await expect(readConfigFile(path)).rejects.toMatchObject({ detailLines: [expect.stringContaining('api_key')] });
  });
});
