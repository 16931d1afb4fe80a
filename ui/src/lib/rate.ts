// Speed and time left from progress samples: the rate over the last few seconds, so a slow
// folder at the start does not distort the estimate for the rest of the run.

export interface Sample {
  /** Milliseconds, from any fixed origin. */
  at: number;
  messages: number;
  bytes: number;
}

export interface Estimate {
  messagesPerSecond: number | null;
  bytesPerSecond: number | null;
  /** Seconds left, when the total is known and the rate is measurable. */
  secondsLeft: number | null;
}

/** How far back the rate looks. */
export const WINDOW_MS = 5000;

export class RateMeter {
  private samples: Sample[] = [];

  add(sample: Sample): void {
    this.samples.push(sample);
    const oldest = sample.at - WINDOW_MS;
    // Keep one sample at or before the window's start, so the window is always covered.
    while (this.samples.length > 2 && this.samples[1].at <= oldest) this.samples.shift();
  }

  reset(): void {
    this.samples = [];
  }

  estimate(messagesTotal: number | null, bytesTotal: number | null): Estimate {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 500) {
      return { messagesPerSecond: null, bytesPerSecond: null, secondsLeft: null };
    }
    const seconds = (last.at - first.at) / 1000;
    const mps = (last.messages - first.messages) / seconds;
    const bps = (last.bytes - first.bytes) / seconds;
    let secondsLeft: number | null = null;
    // Bytes predict better than messages (sizes vary), when both totals are known.
    if (bytesTotal !== null && bps > 0) secondsLeft = Math.max(0, bytesTotal - last.bytes) / bps;
    else if (messagesTotal !== null && mps > 0)
      secondsLeft = Math.max(0, messagesTotal - last.messages) / mps;
    return { messagesPerSecond: mps, bytesPerSecond: bps, secondsLeft };
  }
}

/** Fraction done in 0..1, or null when the total is unknown. */
export function fractionDone(done: number, total: number | null): number | null {
  if (total === null) return null;
  if (total === 0) return 1;
  return Math.min(1, done / total);
}
