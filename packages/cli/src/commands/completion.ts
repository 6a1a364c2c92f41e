import type { CommandInput, CliCommand, GroupSpec, OptionSpec } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { GLOBAL_OPTIONS } from '../program.js';

/** What completion needs: the command table and its groups. */
export interface CompletionTable {
  readonly commands: readonly CliCommand[];
  readonly groups: readonly GroupSpec[];
}

const SHELLS = ['bash', 'zsh'] as const;

/** Options every command has besides its own: the globals, help and version. */
const COMMON: readonly OptionSpec[] = [
  ...GLOBAL_OPTIONS,
  { flags: '-h, --help', description: 'show help' },
  { flags: '-V, --version', description: 'print the version' },
];

/**
 * `binhostctl completion bash|zsh`: prints a completion script generated from the command table
 * (commands, subcommands, options, the words an argument accepts), so nobody edits a script when
 * a command changes. The table is passed in by dispatch.ts (importing it would be a cycle).
 */
export function createSpec(table: () => CompletionTable): CliCommand {
  return {
    name: 'completion',
    summary: 'print a bash or zsh completion script',
    args: [{ name: 'SHELL', description: 'bash or zsh', choices: SHELLS }],
    examples: ['completion bash > /usr/share/bash-completion/completions/binhostctl', 'completion zsh > /usr/share/zsh/site-functions/_binhostctl'],
    run: (input: CommandInput, ctx: CommandContext) => {
      ctx.stdout.write(input.args[0] === 'bash' ? bashCompletion(table()) : zshCompletion(table()));
      return Promise.resolve(0);
    },
  };
}

/** Words go into shell code unquoted: allow only plain ones. */
function word(w: string): string {
  if (!/^-{0,2}[A-Za-z0-9][A-Za-z0-9-]*$/.test(w)) throw new Error(`"${w}" cannot be completed safely`);
  return w;
}

/** `-f, --follow` → ['-f', '--follow']; whether it takes a value (`--limit <N>`). */
function optionNames(o: OptionSpec): { names: string[]; value: boolean } {
  return { names: o.flags.split(/[ ,]+/).filter((f) => f.startsWith('-')).map(word), value: o.flags.includes('<') };
}

/** One entry per command key (`status`, `target show`) and per group, with what completes there. */
interface Entry {
  key: string;
  options: readonly OptionSpec[];
  /** Words for the Nth positional (a variadic last one repeats). */
  positional: readonly { words: readonly string[]; files: boolean }[];
  variadic: boolean;
}

function entries(t: CompletionTable): Entry[] {
  const out: Entry[] = [];
  const top: string[] = [];
  for (const c of t.commands) {
    const [first] = c.name.split(' ');
    if (!top.includes(first!)) top.push(first!);
    out.push({
      key: c.name.split(' ').map(word).join(' '),
      options: c.options ?? [],
      positional: (c.args ?? []).map((a) => ({ words: (a.choices ?? []).map(word), files: a.name === 'FILE' })),
      variadic: c.args?.at(-1)?.variadic ?? false,
    });
  }
  for (const g of t.groups) {
    const subs = t.commands.filter((c) => c.name.startsWith(`${g.name} `)).map((c) => c.name.split(' ')[1]!);
    out.push({ key: word(g.name), options: [], positional: [{ words: subs.map(word), files: false }], variadic: false });
  }
  // Commander's implicit `help [COMMAND]`: offered among the commands, and completes a command after it.
  out.push({ key: 'help', options: [], positional: [{ words: top.map(word), files: false }], variadic: false });
  out.push({ key: '', options: [], positional: [{ words: [...top, 'help'].map(word), files: false }], variadic: false });
  return out;
}

/** Options taking a value anywhere in the table: files, fixed words, or anything. */
function valueOptions(t: CompletionTable): { files: string[]; choices: Map<string, readonly string[]>; other: string[] } {
  const files = new Set<string>();
  const choices = new Map<string, readonly string[]>();
  const other = new Set<string>();
  for (const o of [...COMMON, ...t.commands.flatMap((c) => c.options ?? [])]) {
    const { names, value } = optionNames(o);
    if (!value) continue;
    for (const n of names) {
      if ('file' in o && o.file) files.add(n);
      else if ('choices' in o && o.choices) choices.set(n, o.choices.map(word));
      else other.add(n);
    }
  }
  return { files: [...files], choices, other: [...other] };
}

/** A bash script for `complete -F`: commands, subcommands, each command's options and argument words, files where files go. */
function bashCompletion(t: CompletionTable): string {
  const v = valueOptions(t);
  const groups = t.groups.map((g) => word(g.name));
  const common = COMMON.flatMap((o) => optionNames(o).names).join(' ');
  const caseFor = (e: Entry) => {
    const opts = e.options.flatMap((o) => optionNames(o).names).join(' ');
    const positions = e.positional
      .map((p, i) => {
        const last = e.variadic && i === e.positional.length - 1 ? '*' : String(i);
        return `${last}) ${p.files ? 'files=1' : `words="${p.words.join(' ')}"`} ;; `;
      })
      .join('');
    return `        '${e.key}') opts="${opts}"; case $n in ${positions}esac ;;\n`;
  };
  return `# bash completion for binhostctl; generated by \`binhostctl completion bash\`
_binhostctl() {
    local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        ${v.files.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
${[...v.choices].map(([n, w]) => `        ${n}) COMPREPLY=($(compgen -W "${w.join(' ')}" -- "$cur")); return ;;\n`).join('')}        ${v.other.join('|')}) return ;;
    esac
    # The positional words so far (option values skipped); the command is the first one, or a group and the second.
    local i w after=0 key= n=0 files=0 words= opts=
    local -a pos=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=\${COMP_WORDS[i]}
        ((after)) && continue
        case $w in
            --) after=1 ;;
            ${[...v.files, ...v.choices.keys(), ...v.other].join('|')}) ((i++)) ;;
            -*) ;;
            *) pos+=("$w") ;;
        esac
    done
    if ((after)); then COMPREPLY=($(compgen -f -- "$cur")); return; fi
    case \${pos[0]-} in
        ${groups.join('|')}) if ((\${#pos[@]} >= 2)); then key="\${pos[0]} \${pos[1]}"; n=$((\${#pos[@]} - 2)); else key=\${pos[0]}; n=0; fi ;;
        '') key=; n=0 ;;
        *) key=\${pos[0]}; n=$((\${#pos[@]} - 1)) ;;
    esac
    case $key in
${entries(t).map(caseFor).join('')}    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts ${common}" -- "$cur"))
    elif ((files)); then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
}
complete -F _binhostctl binhostctl
`;
}

/** Text inside zsh single quotes: only `'` needs escaping; `:` separates a word from its description. */
function zq(s: string): string {
  return s.replace(/'/g, `'\\''`).replace(/:/g, '\\:');
}

/** A zsh script for fpath (`#compdef`): commands and options with their descriptions, argument words, files. */
function zshCompletion(t: CompletionTable): string {
  const v = valueOptions(t);
  const groups = t.groups.map((g) => word(g.name));
  const described = (items: { name: string; text: string }[]) => items.map((i) => `'${i.name}:${zq(i.text)}'`).join(' ');
  const optionItems = (opts: readonly OptionSpec[]) =>
    described(opts.flatMap((o) => optionNames(o).names.map((n) => ({ name: n, text: o.description }))));
  const summaries = new Map<string, string>([['help', 'show help for a command'], ...t.commands.map((c) => [c.name, c.summary] as const), ...t.groups.map((g) => [g.name, g.summary] as const)]);
  const caseFor = (e: Entry) => {
    const positions = e.positional
      .map((p, i) => {
        const last = e.variadic && i === e.positional.length - 1 ? '*' : String(i);
        const items = described(p.words.map((w) => ({ name: w, text: summaries.get(e.key ? `${e.key} ${w}` : w) ?? w })));
        return `${last}) ${p.files ? 'files=1' : `cands=(${items})`} ;; `;
      })
      .join('');
    return `        '${e.key}') opts=(${optionItems(e.options)}); case $n in ${positions}esac ;;\n`;
  };
  return `#compdef binhostctl
# zsh completion for binhostctl; generated by \`binhostctl completion zsh\`
_binhostctl() {
    local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]}
    case $prev in
        ${v.files.join('|')}) _files; return ;;
${[...v.choices].map(([n, w]) => `        ${n}) compadd -- ${w.join(' ')}; return ;;\n`).join('')}        ${v.other.join('|')}) return ;;
    esac
    local i w after=0 key= n=0 files=0
    local -a pos opts cands common
    common=(${optionItems(COMMON)})
    for ((i = 2; i < CURRENT; i++)); do
        w=\${words[i]}
        ((after)) && continue
        case $w in
            --) after=1 ;;
            ${[...v.files, ...v.choices.keys(), ...v.other].join('|')}) ((i++)) ;;
            -*) ;;
            *) pos+=("$w") ;;
        esac
    done
    if ((after)); then _files; return; fi
    case \${pos[1]-} in
        ${groups.join('|')}) if ((\${#pos} >= 2)); then key="\${pos[1]} \${pos[2]}"; n=$((\${#pos} - 2)); else key=\${pos[1]}; n=0; fi ;;
        '') key=; n=0 ;;
        *) key=\${pos[1]}; n=$((\${#pos} - 1)) ;;
    esac
    cands=()
    case $key in
${entries(t).map(caseFor).join('')}    esac
    if [[ $cur == -* ]]; then
        _describe -t options option opts -- common
    elif ((files)); then
        _files
    else
        _describe -t commands 'binhostctl' cands
    fi
}
_binhostctl "$@"
`;
}
