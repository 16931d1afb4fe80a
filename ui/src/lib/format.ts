// Numbers, sizes, rates and times for people: decimal units, as file managers show them.

/** 1234567 → "1,234,567" */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "1 message" / "2 messages", with thousands separators. */
export function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** 1127560038 → "1.1 GB" */
export function size(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
}

/** Seconds as "about 3 minutes", "about 1 hour 20 minutes", "less than a minute". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown';
  if (seconds < 60) return 'less than a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${plural(minutes, 'minute', 'minutes')}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0
    ? `about ${plural(hours, 'hour', 'hours')}`
    : `about ${plural(hours, 'hour', 'hours')} ${plural(rest, 'minute', 'minutes')}`;
}

/** Today as YYYY-MM-DD in local time, for suggested file names. */
export function today(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** An RFC 3339 UTC time as "2026-11-24 00:00 UTC", as the engine's reports write times. */
export function utc(rfc3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(rfc3339);
  return m ? `${m[1]} ${m[2]} UTC` : rfc3339;
}
