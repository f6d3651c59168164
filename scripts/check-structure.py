#!/usr/bin/python3
"""Check the layout rules of src/ (see src/README.md, "Rules"):

  layers     every include and every call goes to the caller's own layer or
             one below it (src/LAYERS, lowest first, is the one list)
  lines      no source file over 700 lines
  functions  no function body over 60 lines
  headers    every header opens with a comment naming itself and what it owns
  includes   no cycle among the headers of src/
  calls      no cycle in which .c file calls a function of which other
             (read from the symbols of the built objects: nm)
  format     the tree is formatted as .clang-format says (clang-format 14)

Usage: scripts/check-structure.py [--build DIR] [CHECK ...]
Prints one line per finding and a summary; exits 1 if anything was found.
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys

MAX_FILE = 700
MAX_FUNC = 60
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKS = ["layers", "lines", "functions", "headers", "includes", "calls", "format"]


def sources():
    return sorted(glob.glob(os.path.join(ROOT, "src", "*", "*.[ch]")))


def layers():
    """The layer names of src/LAYERS, lowest first."""
    with open(os.path.join(ROOT, "src", "LAYERS"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def layer_of(path):
    return os.path.basename(os.path.dirname(path))


def objects(build):
    """{source file name: object path} of every layer library's objects."""
    found = {}
    for o in glob.glob(os.path.join(build, "src", "libxaifs_*.a.p", "*.o")):
        lib = os.path.basename(os.path.dirname(o))	# libxaifs_LAYER.a.p
        prefix = lib[len("libxaifs_"):-len(".a.p")] + "_"	# meson's LAYER_
        name = os.path.basename(o)[:-len(".o")]
        found[name[len(prefix):] if name.startswith(prefix) else name] = o
    return found


def first_use(path, sym):
    """The first line of path that names sym (for a finding's position)."""
    pat = re.compile(r"\b" + re.escape(sym) + r"\b")
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        if pat.search(line):
            return i
    return 1


def rel(path):
    return os.path.relpath(path, ROOT)


def check_layers(args):
    order = {name: i for i, name in enumerate(layers())}
    files = sources()
    out = [f"{rel(f)}: its folder is not a layer of src/LAYERS"
           for f in files if layer_of(f) not in order]
    if out:
        return out
    out += check_layer_readmes()
    home = {os.path.basename(f): f for f in files if f.endswith(".h")}
    for f in files:
        for i, line in enumerate(open(f, encoding="utf-8"), 1):
            m = re.match(r'#include "([\w.]+)"', line)
            if not m or m.group(1) not in home:
                continue
            to = layer_of(home[m.group(1)])
            if order[to] > order[layer_of(f)]:
                out.append(f"{rel(f)}:{i}: includes {m.group(1)} of layer {to}, "
                           f"above {layer_of(f)} (src/LAYERS)")
    return out + check_layer_calls(args, order)


def check_layer_readmes():
    """Each layer folder's README ends with the layers below it, as in
    src/LAYERS ('May use: a, b.'), so the two cannot drift apart."""
    names, out = layers(), []
    for i, name in enumerate(names):
        path = os.path.join(ROOT, "src", name, "README")
        text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        m = re.search(r"^May use: (.*)$", text, re.M)
        want = names[:i]
        got = re.findall(r"\b(\w+)\b", m.group(1).split("(")[0]) if m else None
        if got is None:
            out.append(f"{rel(path)}: missing, or no 'May use:' line")
        elif want and got != want:
            out.append(f"{rel(path)}: 'May use: {m.group(1)}', src/LAYERS says {', '.join(want)}")
    return out


def check_layer_calls(args, order):
    where = {os.path.basename(f): f for f in sources()}
    defined, needed = symbols(args)
    if not defined:
        return [f"layers: no objects under {args.build}/src (build first)"]
    owner = {s: f for f, defs in defined.items() for s in defs}
    out = []
    for f, undefs in sorted(needed.items()):
        for s in sorted(undefs):
            if s not in owner or f not in where:
                continue
            lf, lt = layer_of(where[f]), layer_of(where[owner[s]])
            if order[lt] > order[lf]:
                line = first_use(where[f], s)
                out.append(f"{rel(where[f])}:{line}: calls {s}() of {owner[s]}, "
                           f"in layer {lt} above {lf} (src/LAYERS)")
    return out


def symbols(args):
    """({source: defined symbols}, {source: undefined symbols}) from nm."""
    defined, needed = {}, {}
    for name, o in objects(args.build).items():
        defs, undefs = set(), set()
        for line in subprocess.check_output(["nm", o], text=True).splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "TDBR":
                defs.add(p[2])
            elif len(p) == 2 and p[0] == "U":
                undefs.add(p[1])
        defined[name], needed[name] = defs, undefs
    return defined, needed


def check_lines(_args):
    out = []
    for f in sources():
        n = sum(1 for _ in open(f, encoding="utf-8", errors="replace"))
        if n > MAX_FILE:
            out.append(f"{rel(f)}: {n} lines (at most {MAX_FILE})")
    return out


def functions(path):
    """(name, first line, body lines) of each function: a body opens with
    '{' in column 0 and closes with '}' in column 0 (the project's style)."""
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    found, start, name = [], None, None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            start = i
            j = i - 1	# back to the line the signature starts on
            while j > 0 and (not lines[j] or lines[j][0] in " \t)"):
                j -= 1
            m = re.findall(r"(\w+)\s*\(", " ".join(lines[j:i]))
            name = m[0] if m else "?"
        elif line.startswith("}") and start is not None:
            found.append((name, start + 1, i - start - 1))
            start = None
    return found


def check_functions(_args):
    out = []
    for f in sources():
        if not f.endswith(".c"):
            continue
        for name, line, n in functions(f):
            if n > MAX_FUNC:
                out.append(f"{rel(f)}:{line}: {name}() has {n} lines (at most {MAX_FUNC})")
    return out


def check_headers(_args):
    out = []
    for f in sources():
        if not f.endswith(".h"):
            continue
        head = open(f, encoding="utf-8").read(400)
        base = os.path.basename(f)
        if not re.match(r"/\*\n \* " + re.escape(base) + r" - ", head):
            out.append(f"{rel(f)}: does not open with '/*' and ' * {base} - what it owns'")
        elif "Owns" not in open(f, encoding="utf-8").read(3000) and "_int.h" not in base:
            out.append(f"{rel(f)}: its opening comment does not say what it owns ('Owns')")
    return out


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def check_includes(_args):
    graph = collections.defaultdict(set)
    for f in sources():
        if not f.endswith(".h"):
            continue
        base = os.path.basename(f)
        graph[base]
        for m in re.finditer(r'^#include "([\w.]+)"', open(f, encoding="utf-8").read(), re.M):
            graph[base].add(m.group(1))
    return [f"include cycle: {' <-> '.join(c)}" for c in cycles(graph)]


def check_calls(args):
    defined, needed = symbols(args)
    if not defined:
        return [f"calls: no objects under {args.build}/src (build first)"]
    owner = {s: f for f, defs in defined.items() for s in defs}
    graph = collections.defaultdict(set)
    for f, undefs in needed.items():
        graph[f]
        for s in undefs:
            if s in owner and owner[s] != f:
                graph[f].add(owner[s])
    out = []
    for comp in cycles(graph):
        edges = []
        for a in comp:
            for b in sorted(graph[a] & set(comp)):
                syms = sorted(s for s in needed[a] if owner.get(s) == b)
                edges.append(f"{a} -> {b} ({', '.join(syms[:3])})")
        out.append(f"call cycle: {'; '.join(edges)}")
    return out


def check_format(_args):
    files = sources() + sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "*.[ch]"))) \
        + sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "*.[ch]")))
    out = []
    for f in files:
        r = subprocess.run(["clang-format", "--dry-run", "-Werror", f],
                           capture_output=True, text=True)
        if r.returncode != 0:
            n = r.stderr.count("warning:") + r.stderr.count("error:")
            out.append(f"{rel(f)}: not formatted ({n} places; clang-format -i {rel(f)})")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("checks", nargs="*", default=CHECKS)
    args = ap.parse_args()
    total = 0
    for c in args.checks:
        if c not in CHECKS:
            ap.error(f"unknown check {c}; known: {' '.join(CHECKS)}")
        found = globals()["check_" + c](args)
        for line in found:
            print(line)
        total += len(found)
        print(f"check-structure {c}: {'ok' if not found else f'{len(found)} found'}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
