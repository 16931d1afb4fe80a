// Email accounts: provider presets, the account form, the mailbox spec it becomes, and the
// connection profile a helpdesk can send to fill the form in (docs/connection-profile.md).

export type Security = 'tls' | 'starttls';

export interface Preset {
  id: string;
  name: string;
  host: string;
  port: number;
  security: Security;
  /** What the user should know about signing in with this provider. */
  note: string;
}

export const PRESETS: Preset[] = [
  {
    id: 'gmail',
    name: 'Gmail',
    host: 'imap.gmail.com',
    port: 993,
    security: 'tls',
    note: 'With 2-Step Verification on, use an app password (Google Account → Security → App passwords).',
  },
  {
    id: 'microsoft',
    name: 'Microsoft 365 / Outlook.com',
    host: 'outlook.office365.com',
    port: 993,
    security: 'tls',
    note: 'Your organisation must allow IMAP; ask your helpdesk if signing in fails.',
  },
  {
    id: 'icloud',
    name: 'iCloud',
    host: 'imap.mail.me.com',
    port: 993,
    security: 'tls',
    note: 'Use an app-specific password from appleid.apple.com, and your name without @icloud.com.',
  },
  {
    id: 'yahoo',
    name: 'Yahoo',
    host: 'imap.mail.yahoo.com',
    port: 993,
    security: 'tls',
    note: 'Use an app password from your Yahoo account security settings.',
  },
  {
    id: 'fastmail',
    name: 'Fastmail',
    host: 'imap.fastmail.com',
    port: 993,
    security: 'tls',
    note: 'Use an app password from Fastmail settings → Privacy & Security.',
  },
  {
    id: 'domino',
    name: 'HCL Domino',
    host: '',
    port: 993,
    security: 'tls',
    note: 'Type your company’s mail server name; your helpdesk knows it. IMAP must be enabled on the server.',
  },
  {
    id: 'other',
    name: 'Other',
    host: '',
    port: 993,
    security: 'tls',
    note: 'Your provider’s help pages list the IMAP server name and port.',
  },
];

export interface AccountForm {
  preset: string;
  user: string;
  host: string;
  port: number;
  security: Security;
  /** The server certificate's SHA-256 fingerprint, when a helpdesk gives one for a server whose
   * certificate no public authority signed (e.g. an in-house Domino server); empty otherwise. */
  certificate: string;
}

/** `SHA256:` (optional) and 64 hexadecimal digits, colons and spaces allowed: the spelling of
 * browsers and `openssl x509 -fingerprint -sha256`. */
const FINGERPRINT = /^(sha256:)?([0-9a-f]{2}[: ]?){31}[0-9a-f]{2}$/i;

export function presetById(id: string): Preset {
  return PRESETS.find((p) => p.id === id) ?? PRESETS[PRESETS.length - 1];
}

/** The form as a preset fills it, keeping the user name. */
export function applyPreset(form: AccountForm, id: string): AccountForm {
  const p = presetById(id);
  return { ...form, preset: p.id, host: p.host, port: p.port, security: p.security };
}

/** What is wrong with the form, field by field; empty when it is complete. */
export function formProblems(form: AccountForm): Partial<Record<'user' | 'host' | 'port' | 'certificate', string>> {
  const problems: Partial<Record<'user' | 'host' | 'port' | 'certificate', string>> = {};
  if (!form.user.trim()) problems.user = 'Type your user name (often your email address).';
  const host = form.host.trim();
  if (!host) problems.host = 'Type the server name, e.g. imap.example.com.';
  else if (!/^[A-Za-z0-9.-]+$/.test(host) || host.startsWith('.') || host.endsWith('.'))
    problems.host = 'A server name has only letters, digits, dots and dashes.';
  if (!Number.isInteger(form.port) || form.port < 1 || form.port > 65535)
    problems.port = 'The port is a number from 1 to 65535 (usually 993).';
  const cert = form.certificate.trim();
  if (cert && !FINGERPRINT.test(cert))
    problems.certificate = 'A fingerprint is 64 hexadecimal digits, e.g. SHA256:AB:CD:…; copy it exactly as your helpdesk gave it.';
  return problems;
}

/**
 * The mailbox spec of an account: `imaps://user@host:port` (TLS from the start) or
 * `imap://user@host:port` (STARTTLS), with `?cert=…` when a certificate is pinned. The user name
 * is %-escaped, so `ann@example.com` stays one name. Never holds the password.
 */
export function accountSpec(form: AccountForm): string {
  const scheme = form.security === 'tls' ? 'imaps' : 'imap';
  const spec = `${scheme}://${encodeURIComponent(form.user.trim())}@${form.host.trim().toLowerCase()}:${form.port}`;
  const cert = form.certificate.trim().replace(/ /g, ':');
  return cert ? `${spec}?cert=${cert}` : spec;
}

/** The version of the connection profile format this app reads. */
export const PROFILE_FORMAT = 'mailproof-connection-profile/1';

export interface Profile {
  form: AccountForm;
  /** Who sent it, e.g. "Example Corp IT, +1 555 0100". */
  label: string | null;
  /** Things to tell the user, e.g. that a password in the file was ignored. */
  warnings: string[];
}

/** Reads a connection profile; throws an Error in plain words when it is not one. */
export function parseProfile(text: string): Profile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('This file is not a connection profile: it is not JSON.');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new Error('This file is not a connection profile: it holds no settings.');
  const d = data as Record<string, unknown>;
  if (d.format !== PROFILE_FORMAT)
    throw new Error(
      `This file is not a connection profile Mailproof knows (expected "format": "${PROFILE_FORMAT}").`,
    );
  const str = (key: string): string | null => {
    const v = d[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw new Error(`In this connection profile, "${key}" must be text.`);
    return v;
  };
  const presetId = str('provider') ?? 'other';
  if (!PRESETS.some((p) => p.id === presetId))
    throw new Error(
      `In this connection profile, "provider" must be one of ${PRESETS.map((p) => p.id).join(', ')}.`,
    );
  let form = applyPreset({ preset: 'other', user: '', host: '', port: 993, security: 'tls', certificate: '' }, presetId);
  const host = str('host');
  if (host !== null) form.host = host;
  if (d.port !== undefined) {
    if (typeof d.port !== 'number') throw new Error('In this connection profile, "port" must be a number.');
    form.port = d.port;
  }
  const security = str('security');
  if (security !== null) {
    if (security !== 'tls' && security !== 'starttls')
      throw new Error('In this connection profile, "security" must be "tls" or "starttls".');
    form.security = security;
  }
  form = { ...form, user: str('username') ?? '', certificate: str('certificate') ?? '' };
  const problems = formProblems({ ...form, user: form.user || 'x' });
  const first = Object.values(problems)[0];
  if (first) throw new Error(`This connection profile is incomplete: ${first}`);
  const warnings: string[] = [];
  if ('password' in d)
    warnings.push(
      'This profile contains a password. Mailproof ignored it: type your password yourself, and ask your helpdesk not to send passwords in files.',
    );
  return { form, label: str('label'), warnings };
}
