#!/usr/bin/env python3
# Checks that a translation covers every user-visible message of the sources:
#   - every msgid xgettext extracts from the files in po/POTFILES is in the .po
#     file, translated and not fuzzy;
#   - the .po file itself has no untranslated or fuzzy entry;
#   - web error names (SecurityError, ...) are kept untranslated;
#   - `msgfmt -c` accepts it (header, and format specifiers identical and in
#     the same order for c-format messages).
# Entries of the .po file that the sources no longer use are reported but do not
# fail the check (msgmerge turns them into obsolete #~ entries).
#
#   check-po.py --source-root DIR [--xgettext PATH] [--msgfmt PATH] po/fr.po...

import argparse
import os
import subprocess
import sys
import tempfile

# The keywords of meson's i18n "glib" preset (po/meson.build uses it), so the
# check sees the same messages as the .pot the build generates.
XGETTEXT_ARGS = [
    '-C', '--from-code=UTF-8',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format', '--flag=NC_:2:pass-c-format',
    '--flag=g_dngettext:2:pass-c-format', '--flag=g_strdup_printf:1:c-format',
    '--flag=g_string_printf:2:c-format', '--flag=g_string_append_printf:2:c-format',
    '--flag=g_error_new:3:c-format', '--flag=g_set_error:4:c-format',
]

# DOMException names are identifiers: a translation must keep them as they are.
WEB_ERROR_NAMES = ['SecurityError', 'NotSupportedError', 'TypeError', 'OverconstrainedError']


def unquote(s):
    """The value of one PO string literal line ('"..."')."""
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    s = s[1:-1]
    out, i = [], 0
    escapes = {'n': '\n', 't': '\t', '"': '"', '\\': '\\', 'r': '\r', 'a': '\a', 'b': '\b',
               'f': '\f', 'v': '\v'}
    while i < len(s):
        if s[i] == '\\' and i + 1 < len(s):
            out.append(escapes.get(s[i + 1], '\\' + s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


class Entry:
    def __init__(self):
        self.ctxt = None
        self.msgid = None
        self.plural = None
        self.msgstr = {}
        self.flags = set()
        self.refs = []
        self.line = 0

    @property
    def key(self):
        return (self.ctxt, self.msgid)

    def where(self):
        return ' '.join(self.refs) if self.refs else 'line %d' % self.line

    def __str__(self):
        ctxt = '[%s] ' % self.ctxt if self.ctxt else ''
        return '%s"%s"' % (ctxt, self.msgid)


def parse_po(path):
    """The non-obsolete entries of a PO/POT file, header (msgid "") excluded."""
    entries, cur, field = [], Entry(), None

    def finish():
        nonlocal cur
        if cur.msgid is not None:
            entries.append(cur)
        cur = Entry()

    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line.strip():
                finish()
                field = None
                continue
            if line.startswith('#~'):
                continue
            if line.startswith('#,'):
                cur.flags.update(flag.strip() for flag in line[2:].split(','))
                continue
            if line.startswith('#:'):
                cur.refs.extend(line[2:].split())
                continue
            if line.startswith('#'):
                continue
            keyword, _, rest = line.partition(' ')
            if line.startswith('"'):
                value = unquote(line)
            elif keyword in ('msgctxt', 'msgid', 'msgid_plural') or keyword.startswith('msgstr'):
                if keyword == 'msgctxt' or (keyword == 'msgid' and cur.msgid is not None
                                            and cur.msgstr):
                    finish()
                field, value = keyword, unquote(rest)
                if keyword == 'msgid':
                    cur.line = lineno
            else:
                raise SystemExit('%s:%d: cannot parse: %s' % (path, lineno, line))
            if field == 'msgctxt':
                cur.ctxt = (cur.ctxt or '') + value
            elif field == 'msgid':
                cur.msgid = (cur.msgid or '') + value
            elif field == 'msgid_plural':
                cur.plural = (cur.plural or '') + value
            elif field == 'msgstr':
                cur.msgstr[0] = cur.msgstr.get(0, '') + value
            elif field and field.startswith('msgstr['):
                n = int(field[len('msgstr['):-1])
                cur.msgstr[n] = cur.msgstr.get(n, '') + value
    finish()
    return [e for e in entries if e.msgid != '' or e.ctxt is not None]


def source_messages(args, tmpdir):
    potfiles = os.path.join(args.source_root, 'po', 'POTFILES')
    with open(potfiles, encoding='utf-8') as f:
        files = [l.strip() for l in f if l.strip() and not l.startswith('#')]
    missing = [p for p in files if not os.path.exists(os.path.join(args.source_root, p))]
    if missing:
        raise SystemExit('po/POTFILES lists files that do not exist: ' + ', '.join(missing))
    # Every plugin source that marks a message for translation must be listed.
    unlisted = []
    for top in ('ext', 'gst', 'gst-libs'):
        for dirpath, _dirs, names in os.walk(os.path.join(args.source_root, top)):
            for n in sorted(names):
                if not n.endswith(('.c', '.cpp', '.cc', '.h')):
                    continue
                path = os.path.join(dirpath, n)
                rel = os.path.relpath(path, args.source_root)
                with open(path, encoding='utf-8', errors='replace') as f:
                    if '_("' in f.read() and rel not in files:
                        unlisted.append(rel)
    if unlisted:
        raise SystemExit('sources with translatable messages missing from po/POTFILES: ' +
                         ', '.join(unlisted))
    pot = os.path.join(tmpdir, 'messages.pot')
    subprocess.run([args.xgettext] + XGETTEXT_ARGS + ['--directory', args.source_root,
                                                     '--output', pot] + files, check=True)
    if not os.path.exists(pot):  # xgettext writes nothing when there is no message
        return files, []
    return files, parse_po(pot)


def check(po_path, wanted, args):
    problems, notes = [], []
    name = os.path.relpath(po_path, args.source_root)

    result = subprocess.run([args.msgfmt, '-c', '--check-format', '-o', os.devnull, po_path],
                            capture_output=True, text=True)
    if result.returncode != 0:
        problems.append('msgfmt -c rejects it:\n' + result.stderr.rstrip())

    entries = parse_po(po_path)
    by_key = {e.key: e for e in entries}
    for msg in wanted:
        e = by_key.get(msg.key)
        if e is None:
            problems.append('missing %s (from %s)' % (msg, msg.where()))
    for e in entries:
        if 'fuzzy' in e.flags:
            problems.append('fuzzy %s (%s:%d)' % (e, name, e.line))
        if not e.msgstr or any(not s for s in e.msgstr.values()):
            problems.append('untranslated %s (%s:%d)' % (e, name, e.line))
            continue
        for web_name in WEB_ERROR_NAMES:
            if web_name in e.msgid and not all(web_name in s for s in e.msgstr.values()):
                problems.append('%s must stay untranslated in %s (%s:%d)' % (
                    web_name, e, name, e.line))
    wanted_keys = {m.key for m in wanted}
    for e in entries:
        if e.key not in wanted_keys:
            notes.append('not in the sources any more (run msgmerge): %s (%s:%d)' % (
                e, name, e.line))
    return problems, notes


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('--source-root', required=True)
    parser.add_argument('--xgettext', default='xgettext')
    parser.add_argument('--msgfmt', default='msgfmt')
    parser.add_argument('po', nargs='+', help='the .po files to check')
    args = parser.parse_args(argv)

    failed = False
    with tempfile.TemporaryDirectory() as tmpdir:
        files, wanted = source_messages(args, tmpdir)
        print('%d messages in %d source files (po/POTFILES)' % (len(wanted), len(files)))
        for po in args.po:
            po_path = po if os.path.isabs(po) else os.path.join(args.source_root, po)
            problems, notes = check(po_path, wanted, args)
            for note in notes:
                print('%s: note: %s' % (po, note))
            for problem in problems:
                print('%s: error: %s' % (po, problem))
            if problems:
                failed = True
            else:
                print('%s: complete' % po)
    if failed:
        print('\nUpdate the catalog: msgmerge --update --no-fuzzy-matching po/<lang>.po <pot>,'
              ' then translate every new or fuzzy entry.', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
