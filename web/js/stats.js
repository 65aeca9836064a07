// Rolling figures: events per second over a time window, and the median of recent samples.
export class RateWindow {
  constructor(windowMs = 2000) {
    this.windowMs = windowMs;
    this.times = [];
  }

  add(now = performance.now()) {
    this.times.push(now);
    this.trim(now);
  }

  trim(now) {
    const since = now - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop] < since) drop += 1;
    if (drop) this.times.splice(0, drop);
  }

  /** Events per second over the last window. */
  rate(now = performance.now()) {
    this.trim(now);
    return (this.times.length * 1000) / this.windowMs;
  }
}

export class MedianWindow {
  constructor(size = 30) {
    this.size = size;
    this.values = [];
  }

  add(value) {
    this.values.push(value);
    if (this.values.length > this.size) this.values.shift();
  }

  /** The median of the kept samples, or 0 when there are none. */
  median() {
    if (!this.values.length) return 0;
    const sorted = [...this.values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
}
