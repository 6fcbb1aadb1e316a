/**
 * hyg-headless-console: does the image boot, and can it be watched, on a VM without a display
 * adapter whose only console is the serial port (what most clouds give a VM)?
 *
 * Read offline from the bootloader configuration (pure functions of the texts, so unit tests feed
 * them recorded files):
 *
 * - GRUB (`/boot/grub/grub.cfg`, `/boot/grub2/grub.cfg`, the ESP's `EFI/<dir>/grub.cfg`, a
 *   grub.cfg embedded in a standalone loader's memdisk): the output terminals that `terminal_output`
 *   leaves active must include `serial`. GRUB manual, "terminal_output": "With no options but a list
 *   of terminal names, make only the listed terminal names active"
 *   (https://www.gnu.org/software/grub/manual/grub/html_node/terminal_005foutput.html), so
 *   `terminal_output gfxterm` makes GRUB draw on the display only: gfxterm needs a video adapter,
 *   and with none the boot stops after 'Welcome to GRUB!'; `terminal_output console` alone keeps
 *   the menu and GRUB's errors off the serial line.
 * - `/etc/default/grub` and `/etc/default/grub.d/*.cfg` (what the next `update-grub` writes), read
 *   the way grub-mkconfig reads them (util/grub-mkconfig.in): it sources /etc/default/grub, then every
 *   `grub.d/*.cfg` in name order, so a drop-in overrides the main file (Debian's cloud images set
 *   `GRUB_TERMINAL="console serial"` and the serial kernel command line in such drop-ins); then "if
 *   [ "x${GRUB_TERMINAL}" != "x" ]" it sets GRUB_TERMINAL_INPUT and GRUB_TERMINAL_OUTPUT to it, so a
 *   non-empty GRUB_TERMINAL wins over GRUB_TERMINAL_OUTPUT; and when GRUB_TERMINAL_OUTPUT is still
 *   empty it becomes `gfxterm` (`termoutdefault=1`), which util/grub.d/00_header.in writes as
 *   `terminal_output gfxterm` (Debian's stock file says "Uncomment to disable graphical terminal
 *   (grub-pc only) #GRUB_TERMINAL=console"). The effective value must include `serial`.
 *   What these files say only matters at the next `update-grub`: the menu GRUB reads now is the
 *   generated `/boot/grub/grub.cfg` (or `/boot/grub2/grub.cfg`). When that menu already leaves a serial
 *   terminal active (and its default entry has a serial console), a default file that says otherwise
 *   is a note in the evidence, not a finding: the image boots headless as it is. A builder may write
 *   the menu another way (grub-mkconfig with variables in its environment, a hand-written grub.cfg).
 * - The kernel command line of the default entry (GRUB `linux`, SYSLINUX/extlinux `APPEND`) must
 *   name a serial console, `console=ttyS0` (or ttyS1...). Without it the kernel and systemd log to
 *   the display only (kernel admin guide, "Linux Serial Console": "console=ttySx for a serial
 *   port", https://www.kernel.org/doc/html/latest/admin-guide/serial-console.html), and a cloud's
 *   serial console shows nothing: Azure's "connects to the ttyS0 or COM1 serial port of the VM"
 *   (https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/azure/virtual-machines/windows/serial-console-overview.md);
 *   imgtest itself reads the host keys and the boot stages from that port.
 */

/** One problem, tied to a file and (when there is one) a line. */
export interface ConsoleFinding {
  file: string;
  line?: number;
  text: string;
  why: string;
}

/** What one configuration file says about the consoles. */
export interface ConsoleReport {
  file: string;
  /** Human summary for the evidence, e.g. `terminal_output serial console; console=ttyS0,115200n8`. */
  summary: string;
  findings: ConsoleFinding[];
  /** What was seen but is not a finding, for the evidence and the pass message. */
  notes?: string[];
  /** For a GRUB menu: whether it leaves a serial terminal active and its default entry logs to a serial console. */
  menu?: MenuConsoles;
}

/** Where a GRUB menu (grub.cfg) sends GRUB's own output and the default entry's kernel output. */
export interface MenuConsoles {
  /** `terminal_output` leaves a serial terminal active. */
  serialTerminal: boolean;
  /** The default entry's `linux` line has console=ttyS<n>. */
  serialKernel: boolean;
}

const GFXTERM_WHY = "GRUB draws on a display; with no display adapter it never gets past 'Welcome to GRUB!'";
const DISPLAY_ONLY_WHY = "GRUB's menu and errors go to the display only, none to the serial console";
const NO_SERIAL_CMDLINE_WHY = 'no console=ttyS0 (or ttyS1...) on the kernel command line: nothing reaches the serial console once the kernel runs';

export const isSerialTerminal = (name: string) => /^serial(_\w+)?$/.test(name);
export const serialConsoleArg = (cmdline: string) => cmdline.split(/\s+/).find((a) => /^console=ttyS\d+/.test(a));

/** Words of a GRUB script line, quotes removed (enough for commands and menuentry titles). */
export function grubWords(line: string): string[] {
  const words = line.match(/'[^']*'|"(?:[^"\\]|\\.)*"|[^\s;]+|;/g) ?? [];
  return words.map((w) => (/^'.*'$/.test(w) ? w.slice(1, -1) : /^".*"$/.test(w) ? w.slice(1, -1).replace(/\\(.)/g, '$1') : w));
}

interface GrubEntry {
  title: string;
  id?: string;
  line: number;
  /** `linux` lines directly in a menuentry. */
  linux: Array<{ line: number; text: string; args: string }>;
  /** For a submenu: its menuentries. */
  children: GrubEntry[];
}

/** Reads a grub.cfg: the terminals `terminal_output` leaves active and the default entry's kernel command line. */
export function analyzeGrubCfg(file: string, text: string): ConsoleReport {
  const findings: ConsoleFinding[] = [];
  let outputs = ['console'];
  let lastSet: { line: number; text: string } | undefined;
  const top: GrubEntry[] = [];
  const stack: Array<{ kind: 'entry' | 'function' | 'other'; entry?: GrubEntry }> = [];
  let defaultValue = '0';
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    let words = grubWords(trimmed);
    if (words[0] === '}' && words.length === 1) {
      stack.pop();
      return;
    }
    const opens = words.at(-1) === '{';
    if (opens) words = words.slice(0, -1);
    // A command may follow if/then/else/elif/!, and end with `; then`.
    while (['if', 'then', 'else', 'elif', 'while', 'do', '!'].includes(words[0] ?? '')) words = words.slice(1);
    const semi = words.indexOf(';');
    if (semi >= 0) words = words.slice(0, semi);
    const [cmd = '', ...args] = words;
    const inFunction = stack.some((s) => s.kind === 'function');
    if (opens) {
      if (cmd === 'menuentry' || cmd === 'submenu') {
        const title = args.find((a) => !a.startsWith('--') && !a.startsWith('$')) ?? '';
        const idAt = args.indexOf('--id');
        const id = idAt >= 0 ? args[idAt + 1] : args.find((a, k) => k > 0 && args[k - 1]?.startsWith('$menuentry_id_option'));
        const entry: GrubEntry = { title, id, line: n, linux: [], children: [] };
        const parent = [...stack].reverse().find((s) => s.kind === 'entry')?.entry;
        if (parent) parent.children.push(entry);
        else if (!inFunction) top.push(entry);
        stack.push({ kind: 'entry', entry });
      } else stack.push({ kind: cmd === 'function' ? 'function' : 'other' });
      return;
    }
    const entry = [...stack].reverse().find((s) => s.kind === 'entry')?.entry;
    if (/^linux(16|efi)?$/.test(cmd) && entry) {
      entry.linux.push({ line: n, text: trimmed, args: args.slice(1).join(' ') });
      return;
    }
    if (entry || inFunction) return; // terminal and default settings inside an entry only apply when it is chosen
    if (cmd === 'set' && args[0]?.startsWith('default=')) defaultValue = args[0].slice('default='.length);
    if (cmd === 'terminal_output') {
      const names = args.filter((a) => !a.startsWith('--'));
      if (names.length === 0) return; // lists the terminals, changes nothing
      if (args.includes('--append')) outputs = [...new Set([...outputs, ...names])];
      else if (args.includes('--remove')) outputs = outputs.filter((o) => !names.includes(o));
      else outputs = names;
      lastSet = { line: n, text: trimmed };
    }
  });
  if (lastSet && !outputs.some(isSerialTerminal)) {
    findings.push({ file, line: lastSet.line, text: lastSet.text, why: outputs.includes('gfxterm') ? GFXTERM_WHY : DISPLAY_ONLY_WHY });
  }
  const summary = [`terminal_output ${lastSet ? outputs.join(' ') : '(not set: console)'}`];
  const kernel = defaultLinux(top, defaultValue);
  const serialKernel = kernel !== undefined && serialConsoleArg(kernel.args) !== undefined;
  if (kernel) {
    const serial = serialConsoleArg(kernel.args);
    summary.push(serial ?? 'no console=ttyS*');
    if (!serial) {
      if (/\$/.test(kernel.args)) summary.push(`(variables on the linux line not resolved: ${kernel.text})`);
      else findings.push({ file, line: kernel.line, text: kernel.text, why: NO_SERIAL_CMDLINE_WHY });
    }
  } else summary.push('no linux line');
  return { file, summary: summary.join('; '), findings, menu: { serialTerminal: lastSet !== undefined && outputs.some(isSerialTerminal), serialKernel } };
}

/** The `linux` line GRUB boots without a key pressed: `set default` (index, `N>M`, title or id), else the first entry. */
function defaultLinux(top: GrubEntry[], value: string): GrubEntry['linux'][number] | undefined {
  const pick = (entries: GrubEntry[], key: string | undefined): GrubEntry | undefined => {
    if (key === undefined || key === '') return entries[0];
    if (/^\d+$/.test(key)) return entries[Number(key)] ?? entries[0];
    return entries.find((e) => e.title === key || e.id === key) ?? entries[0];
  };
  const [first, second] = value.replace(/^["']|["']$/g, '').split('>');
  let entry = pick(top, first?.includes('$') ? undefined : first);
  if (entry && entry.children.length) entry = pick(entry.children, second);
  const withLinux = entry?.linux.length ? entry : [...top, ...top.flatMap((e) => e.children)].find((e) => e.linux.length);
  return withLinux?.linux.at(-1);
}

/** SYSLINUX/extlinux: the default label's APPEND line (and whether a SERIAL directive exists). */
export function analyzeSyslinuxCfg(file: string, text: string): ConsoleReport {
  const findings: ConsoleFinding[] = [];
  const labels: Array<{ name: string; append?: { line: number; text: string; args: string }; menuDefault: boolean }> = [];
  let defaultName: string | undefined;
  let serial: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    const key = m[1]!.toUpperCase();
    const value = m[2]!.trim();
    if (key === 'DEFAULT') defaultName = value.split(/\s+/)[0];
    else if (key === 'SERIAL') serial = line;
    else if (key === 'LABEL') labels.push({ name: value, menuDefault: false });
    else if ((key === 'APPEND' || key === 'KERNEL_ARGS') && labels.length) labels.at(-1)!.append = { line: i + 1, text: line, args: value };
    else if (key === 'MENU' && /^DEFAULT$/i.test(value) && labels.length) labels.at(-1)!.menuDefault = true;
  });
  const chosen = labels.find((l) => l.menuDefault) ?? labels.find((l) => l.name === defaultName) ?? labels[0];
  const summary = [serial ?? 'no SERIAL directive (menu on the display only)'];
  if (chosen?.append) {
    const arg = serialConsoleArg(chosen.append.args);
    summary.push(arg ?? 'no console=ttyS*');
    if (!arg) findings.push({ file, line: chosen.append.line, text: chosen.append.text, why: NO_SERIAL_CMDLINE_WHY });
  } else if (chosen) {
    summary.push(`label ${chosen.name} has no APPEND`);
    findings.push({ file, text: `LABEL ${chosen.name}`, why: NO_SERIAL_CMDLINE_WHY });
  } else summary.push('no LABEL');
  return { file, summary: summary.join('; '), findings };
}

/**
 * `/etc/default/grub` then `grub.d/*.cfg` (in that order: the order grub-mkconfig sources them), read
 * as shell assignments: the effective output terminal (a non-empty GRUB_TERMINAL, else
 * GRUB_TERMINAL_OUTPUT, else gfxterm) and kernel command line, each finding at the line that set it.
 * `menu`: what the generated grub.cfg (the menu GRUB reads now) does; when it already goes to serial,
 * the same problem in these files is a note instead of a finding (see the file's comment).
 */
export function analyzeDefaultGrub(files: Array<{ file: string; text: string }>, menu?: MenuConsoles & { file: string }): ConsoleReport | undefined {
  if (files.length === 0) return undefined;
  const vars = new Map<string, { value: string; file: string; line: number; text: string }>();
  const expand = (value: string) => value.replace(/\$\{?(\w+)\}?/g, (_, name: string) => vars.get(name)?.value ?? '');
  for (const { file, text } of files) {
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      const unset = /^unset\s+(.+)$/.exec(line);
      if (unset) {
        for (const name of unset[1]!.replace(/\s+#.*$/, '').split(/\s+/)) vars.delete(name);
        return;
      }
      const m = /^(?:export\s+)?(GRUB_\w+)=(.*)$/.exec(line);
      if (!m) return;
      let value = m[2]!.replace(/\s+#.*$/, '').trim();
      if (/^'.*'$/.test(value)) value = value.slice(1, -1);
      else if (/^".*"$/.test(value)) value = expand(value.slice(1, -1));
      else value = expand(value);
      vars.set(m[1]!, { value, file, line: i + 1, text: line });
    });
  }
  const main = files[0]!.file;
  const findings: ConsoleFinding[] = [];
  const notes: string[] = [];
  // A finding of these files, or a note when the menu GRUB reads now already does what they fail to.
  const judge = (finding: ConsoleFinding, menuServes: boolean | undefined, what: string) => {
    if (menu && menuServes) notes.push(`${formatFinding(finding)}; not a finding: ${menu.file}, the menu GRUB reads now, ${what}`);
    else findings.push(finding);
  };
  const set = (name: string) => (vars.get(name)?.value.trim() ? vars.get(name) : undefined);
  // grub-mkconfig: a non-empty GRUB_TERMINAL sets GRUB_TERMINAL_OUTPUT (and _INPUT); empty output means gfxterm.
  const terminal = set('GRUB_TERMINAL') ?? set('GRUB_TERMINAL_OUTPUT');
  const outputs = (terminal?.value ?? '').split(/\s+/).filter(Boolean);
  const summary: string[] = [];
  if (!terminal) {
    summary.push('GRUB_TERMINAL unset (gfxterm)');
    judge(
      { file: main, text: 'GRUB_TERMINAL and GRUB_TERMINAL_OUTPUT unset', why: `update-grub then writes terminal_output gfxterm (${GFXTERM_WHY}); set GRUB_TERMINAL="console serial"` },
      menu?.serialTerminal,
      'leaves a serial terminal active',
    );
  } else {
    const overridden = terminal === vars.get('GRUB_TERMINAL') && set('GRUB_TERMINAL_OUTPUT') ? ` (over ${set('GRUB_TERMINAL_OUTPUT')!.text})` : '';
    summary.push(`${terminal.text}${overridden}`);
    if (!outputs.some(isSerialTerminal)) {
      judge(
        { file: terminal.file, line: terminal.line, text: terminal.text, why: outputs.includes('gfxterm') ? GFXTERM_WHY : DISPLAY_ONLY_WHY },
        menu?.serialTerminal,
        'leaves a serial terminal active',
      );
    }
  }
  const cmdline = ['GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT'].map((k) => vars.get(k)).filter((v): v is NonNullable<typeof v> => !!v);
  const arg = serialConsoleArg(cmdline.map((v) => v.value).join(' '));
  summary.push(arg ?? 'no console=ttyS*');
  if (!arg) {
    const at = cmdline.at(-1);
    judge(
      { file: at?.file ?? main, line: at?.line, text: at?.text ?? 'GRUB_CMDLINE_LINUX unset', why: `update-grub then writes a kernel command line with ${NO_SERIAL_CMDLINE_WHY}` },
      menu?.serialKernel,
      'boots its default entry with console=ttyS*',
    );
  }
  const sources = files.map((f) => f.file);
  return {
    file: sources.length > 1 ? `${main} (+ ${sources.slice(1).join(', ')})` : main,
    summary: summary.join('; '),
    findings,
    ...(notes.length ? { notes } : {}),
  };
}

export function formatFinding(f: ConsoleFinding): string {
  return `${f.file}${f.line !== undefined ? `:${f.line}` : ''}: ${f.text} (${f.why})`;
}
