// Search in the result's message lists: every word must appear in the date, sender, subject
// or folder, ignoring case and accents.

export interface Searchable {
  date: string;
  from: string;
  subject: string;
  folder: string;
  nowIn?: string | null;
}

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

export function matches(m: Searchable, query: string): boolean {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = fold([m.date, m.from, m.subject, m.folder, m.nowIn ?? ''].join('\u0000'));
  return words.every((w) => hay.includes(w));
}

export function filter<T extends Searchable>(list: T[], query: string): T[] {
  return query.trim() ? list.filter((m) => matches(m, query)) : list;
}
