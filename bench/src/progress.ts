/** A one-line progress display on stderr: rewritten in place on a terminal, start/end lines otherwise. */
export interface Progress {
  start(label: string): void;
  update(text: string): void;
  finish(text: string): void;
  note(text: string): void;
}

export function createProgress(total: number, out: NodeJS.WriteStream = process.stderr): Progress {
  const tty = out.isTTY === true;
  const began = Date.now();
  let index = 0;
  let label = "";
  let caseStart = 0;
  const prefix = () => `[${String(index).padStart(String(total).length)}/${total}] ${label}`;
  const clock = () => {
    const s = Math.round((Date.now() - began) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  return {
    start(l) {
      index++;
      label = l;
      caseStart = Date.now();
      if (tty) out.write(`\r\x1b[K${clock()} ${prefix()} …`);
      else out.write(`${clock()} ${prefix()} …\n`);
    },
    update(text) {
      if (tty) out.write(`\r\x1b[K${clock()} ${prefix()}  ${text} (${Math.round((Date.now() - caseStart) / 1000)} s)`);
    },
    finish(text) {
      if (tty) out.write(`\r\x1b[K`);
      out.write(`${clock()} ${prefix()}  ${text}\n`);
    },
    note(text) {
      if (tty) out.write(`\r\x1b[K`);
      out.write(`${text}\n`);
    },
  };
}
