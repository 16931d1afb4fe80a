import { describe, expect, it } from 'vitest';
import { PRESETS, PROFILE_FORMAT, accountSpec, applyPreset, formProblems, parseProfile } from './account';

const empty = { preset: 'other', user: '', host: '', port: 993, security: 'tls' as const, certificate: '' };

describe('presets', () => {
  it('cover the providers the wizard offers', () => {
    expect(PRESETS.map((p) => p.name)).toEqual([
      'Gmail',
      'Microsoft 365 / Outlook.com',
      'iCloud',
      'Yahoo',
      'Fastmail',
      'HCL Domino',
      'Other',
    ]);
  });
  it('fill server, port and security and keep the user name', () => {
    const f = applyPreset({ ...empty, user: 'ann@gmail.com' }, 'gmail');
    expect(f).toEqual({ preset: 'gmail', user: 'ann@gmail.com', host: 'imap.gmail.com', port: 993, security: 'tls', certificate: '' });
  });
});

describe('account spec', () => {
  it('is imaps:// for TLS, with the user name escaped', () => {
    const f = { ...applyPreset(empty, 'fastmail'), user: 'ann@example.com' };
    expect(accountSpec(f)).toBe('imaps://ann%40example.com@imap.fastmail.com:993');
  });
  it('is imap:// for STARTTLS', () => {
    expect(accountSpec({ ...empty, user: 'bob', host: 'Mail.Example.org', port: 143, security: 'starttls' })).toBe(
      'imap://bob@mail.example.org:143',
    );
  });
  it('pins a certificate a helpdesk gives, in either spelling', () => {
    const pin = 'SHA256:' + Array(32).fill('AB').join(':');
    const f = { ...empty, user: 'ann', host: 'mail.example.com', certificate: pin };
    expect(formProblems(f)).toEqual({});
    expect(accountSpec(f)).toBe(`imaps://ann@mail.example.com:993?cert=${pin}`);
    const spaced = { ...f, certificate: ' ' + Array(32).fill('ab').join(' ') + ' ' };
    expect(formProblems(spaced)).toEqual({});
    expect(accountSpec(spaced)).toBe(`imaps://ann@mail.example.com:993?cert=${Array(32).fill('ab').join(':')}`);
    expect(formProblems({ ...f, certificate: 'SHA256:AB:CD' }).certificate).toMatch(/64 hexadecimal digits/);
  });
  it('names what is missing or wrong', () => {
    expect(Object.keys(formProblems(empty)).sort()).toEqual(['host', 'user']);
    expect(formProblems({ ...empty, user: 'a', host: 'bad host' }).host).toMatch(/letters, digits/);
    expect(formProblems({ ...empty, user: 'a', host: 'h.example', port: 70000 }).port).toMatch(/1 to 65535/);
    expect(formProblems({ ...empty, user: 'a', host: 'h.example' })).toEqual({});
  });
});

describe('connection profile', () => {
  const profile = {
    format: PROFILE_FORMAT,
    label: 'Example Corp IT',
    provider: 'domino',
    host: 'mail.example.com',
    port: 993,
    security: 'tls',
    username: 'ann.smith@example.com',
  };
  it('fills the form; the user types only the password', () => {
    const p = parseProfile(JSON.stringify(profile));
    expect(p.form).toEqual({ preset: 'domino', user: 'ann.smith@example.com', host: 'mail.example.com', port: 993, security: 'tls', certificate: '' });
    expect(p.label).toBe('Example Corp IT');
    expect(p.warnings).toEqual([]);
  });
  it('takes a preset’s server when the profile names only the provider', () => {
    const p = parseProfile(JSON.stringify({ format: PROFILE_FORMAT, provider: 'gmail', username: 'a@gmail.com' }));
    expect(p.form.host).toBe('imap.gmail.com');
  });
  it('carries a pinned certificate, and refuses a malformed one', () => {
    const pin = Array(32).fill('0F').join(':');
    expect(parseProfile(JSON.stringify({ ...profile, certificate: pin })).form.certificate).toBe(pin);
    expect(() => parseProfile(JSON.stringify({ ...profile, certificate: 'yes' }))).toThrow(/fingerprint/);
  });
  it('ignores a password in the file, and says so', () => {
    const p = parseProfile(JSON.stringify({ ...profile, password: 'hunter2' }));
    expect(p.warnings[0]).toMatch(/ignored/);
    expect(JSON.stringify(p)).not.toContain('hunter2');
  });
  it('rejects what is not a profile, in plain words', () => {
    expect(() => parseProfile('not json')).toThrow(/not JSON/);
    expect(() => parseProfile('{"format":"other"}')).toThrow(/not a connection profile Mailproof knows/);
    expect(() => parseProfile(JSON.stringify({ ...profile, port: '993' }))).toThrow(/"port" must be a number/);
    expect(() => parseProfile(JSON.stringify({ ...profile, provider: 'aol' }))).toThrow(/"provider" must be one of/);
    expect(() => parseProfile(JSON.stringify({ ...profile, host: '' }))).toThrow(/incomplete/);
    expect(() => parseProfile(JSON.stringify({ ...profile, security: 'none' }))).toThrow(/"tls" or "starttls"/);
  });
});
