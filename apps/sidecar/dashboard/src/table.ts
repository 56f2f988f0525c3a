// A windowed table: only the rows in view (plus a few above and below) exist in the DOM, laid out
// absolutely inside a spacer as tall as every row together. Fixed row height keeps the arithmetic
// trivial; row elements are reused as the window moves, so scrolling 1,000 symbols allocates nothing.
export interface Column<T> {
  title: string;
  className?: string;
  cell(row: T): string;
}

export interface VirtualTableOptions<T> {
  columns: Column<T>[];
  rowHeight: number;
  /** Extra rows rendered above and below the visible ones. */
  overscan?: number;
  key(row: T): string;
  rowClass?(row: T): string;
  onSelect?(row: T): void;
}

export interface VirtualTable<T> {
  setRows(rows: T[]): void;
  setSelected(key: string | null): void;
  /** Re-renders the visible rows (the data behind them changed). */
  refresh(): void;
}

export function createVirtualTable<T>(host: HTMLElement, o: VirtualTableOptions<T>): VirtualTable<T> {
  const overscan = o.overscan ?? 6;
  host.classList.add('vt');
  const head = document.createElement('div');
  head.className = 'vt-head vt-row';
  for (const c of o.columns) {
    const h = document.createElement('span');
    h.textContent = c.title;
    h.className = c.className ?? '';
    head.append(h);
  }
  const viewport = document.createElement('div');
  viewport.className = 'vt-viewport';
  const spacer = document.createElement('div');
  spacer.className = 'vt-spacer';
  viewport.append(spacer);
  host.append(head, viewport);

  let rows: T[] = [];
  let selected: string | null = null;
  const pool: HTMLDivElement[] = [];
  let scheduled = false;

  const render = () => {
    scheduled = false;
    spacer.style.height = `${rows.length * o.rowHeight}px`;
    const first = Math.max(0, Math.floor(viewport.scrollTop / o.rowHeight) - overscan);
    const visible = Math.ceil((viewport.clientHeight || 400) / o.rowHeight) + 2 * overscan;
    const last = Math.min(rows.length, first + visible);
    while (pool.length < last - first) {
      const el = document.createElement('div');
      el.addEventListener('click', () => {
        const row = rows[Number(el.dataset.index)];
        if (row !== undefined) o.onSelect?.(row);
      });
      for (const c of o.columns) {
        const span = document.createElement('span');
        span.className = c.className ?? '';
        el.append(span);
      }
      spacer.append(el);
      pool.push(el);
    }
    pool.forEach((el, i) => {
      const index = first + i;
      const row = rows[index];
      if (row === undefined) {
        el.hidden = true;
        return;
      }
      el.hidden = false;
      el.dataset.index = String(index);
      el.dataset.key = o.key(row);
      el.style.transform = `translateY(${index * o.rowHeight}px)`;
      el.className = `vt-row ${o.rowClass?.(row) ?? ''} ${o.key(row) === selected ? 'selected' : ''}`;
      o.columns.forEach((c, j) => {
        const text = c.cell(row);
        const span = el.children[j] as HTMLElement;
        if (span.textContent !== text) span.textContent = text;
      });
    });
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  };
  viewport.addEventListener('scroll', schedule, { passive: true });
  new ResizeObserver(schedule).observe(viewport);

  return {
    setRows(next) {
      rows = next;
      schedule();
    },
    setSelected(key) {
      selected = key;
      schedule();
    },
    refresh: schedule,
  };
}
