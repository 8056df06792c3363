#!/usr/bin/env python3
"""Checks the module boundaries that the CMake files declare (run by scripts/lint.sh).

Every domain module is a static library declared in src/<module>/CMakeLists.txt with
csml_add_module(<module> ... DEPS csml::a ... PRIVATE_DEPS csml::b ...) (or a
target_link_libraries(csml_<module> ...) on csml::<other>). From those declarations:

  1. the module graph is acyclic, and src/CMakeLists.txt adds the modules in a topological
     order (a module only after everything it depends on), and every module directory is added;
  2. every `#include "csml/<m>/..."` is allowed:
       - in src/<module>/ : <module>, its direct dependencies (public or private) and what they
         export publicly, transitively;
       - in include/csml/<module>/ (public headers): <module> and its PUBLIC dependencies,
         transitively (a public header must not need a private dependency of its module);
       - elsewhere (apps/, tests/, bench/, fuzz/): the modules that the targets of the nearest
         CMakeLists.txt link (csml::domain counts as every module), transitively;
  3. the table "depends on" column of docs/ARCHITECTURE.md ("Modules and their
     dependencies") lists exactly each module's declared csml dependencies, and its
     "libraries" column exactly the declared third-party targets.

`scripts/check_modules.py --write-docs` rewrites those two columns from the CMake files
(keeping the "owns" column) instead of failing on them.
Exit status 0 when everything holds, 1 otherwise; each problem is one line naming the file.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"
DOC_SECTION = "## Modules and their dependencies"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"csml/([A-Za-z0-9_]+)/[^"]*"')
CALL_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
KEYWORDS = {"PUBLIC", "PRIVATE", "INTERFACE", "SOURCES", "DEPS", "PRIVATE_DEPS", "LABELS",
            "STATIC", "SHARED", "OBJECT", "ALIAS", "EXCLUDE_FROM_ALL"}

problems: list[str] = []


def strip_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def cmake_calls(path: Path):
    """Yields (command, [arguments]) for each command call in a CMake file (no nesting)."""
    text = strip_comments(path.read_text())
    pos = 0
    while True:
        m = CALL_RE.search(text, pos)
        if not m:
            return
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield m.group(1).lower(), text[m.end():i - 1].split()
        pos = i


def sections(args: list[str], names: set[str]) -> dict[str, list[str]]:
    """Splits `name KEY a b KEY2 c` into {"": [name], "KEY": [a, b], "KEY2": [c]}."""
    out: dict[str, list[str]] = {"": []}
    key = ""
    for a in args:
        if a in names:
            key = a
            out.setdefault(key, [])
        else:
            out[key].append(a)
    return out


class Module:
    def __init__(self, name: str):
        self.name = name
        self.public: list[str] = []   # csml modules, in declaration order
        self.private: list[str] = []
        self.libraries: list[tuple[str, bool]] = []  # (third-party target, private?)


def module_name(target: str) -> str | None:
    if target.startswith("csml::"):
        return target[len("csml::"):]
    if target.startswith("csml_"):
        return target[len("csml_"):]
    return None


def read_modules() -> tuple[dict[str, Module], list[str]]:
    modules: dict[str, Module] = {}
    order: list[str] = []
    for cmd, args in cmake_calls(ROOT / "src" / "CMakeLists.txt"):
        if cmd == "add_subdirectory" and args:
            order.append(args[0])
    for lists in sorted((ROOT / "src").glob("*/CMakeLists.txt")):
        directory = lists.parent.name
        for cmd, args in cmake_calls(lists):
            if cmd == "csml_add_module":
                s = sections(args, {"SOURCES", "DEPS", "PRIVATE_DEPS"})
                name = s[""][0]
                if name != directory:
                    problems.append(f"{lists.relative_to(ROOT)}: module '{name}' is declared in "
                                    f"src/{directory}/ (a module's directory must be its name)")
                mod = modules.setdefault(name, Module(name))
                for key, private in (("DEPS", False), ("PRIVATE_DEPS", True)):
                    for dep in s.get(key, []):
                        other = module_name(dep)
                        if other is not None:
                            (mod.private if private else mod.public).append(other)
                        else:
                            mod.libraries.append((dep, private))
            elif cmd == "target_link_libraries" and args and module_name(args[0]):
                name = module_name(args[0])
                mod = modules.setdefault(name, Module(name))
                private = False
                for a in args[1:]:
                    if a in ("PUBLIC", "INTERFACE"):
                        private = False
                    elif a == "PRIVATE":
                        private = True
                    elif module_name(a) and a != "csml_options":
                        (mod.private if private else mod.public).append(module_name(a))
                    elif a != "csml_options":
                        mod.libraries.append((a, private))
    for mod in modules.values():
        for dep in mod.public + mod.private:
            if dep not in modules:
                problems.append(f"src/{mod.name}/CMakeLists.txt: depends on csml::{dep}, which is "
                                "not a module")
    return modules, order


def check_graph(modules: dict[str, Module], order: list[str]) -> None:
    # Acyclic: depth-first search that reports the first cycle it meets.
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for dep in modules[name].public + modules[name].private:
            if dep not in modules:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [name, dep] if dep in stack else [name, dep]
                problems.append("src/*/CMakeLists.txt: the module graph has a cycle: "
                                + " -> ".join(cycle))
            elif dep not in state:
                visit(dep, stack + [name])
        state[name] = 2

    for name in sorted(modules):
        if name not in state:
            visit(name, [])
    for name in modules:
        if name not in order:
            problems.append(f"src/CMakeLists.txt: module '{name}' is never added "
                            f"(add_subdirectory({name}))")
    position = {name: i for i, name in enumerate(order)}
    for name in order:
        if name not in modules:
            continue
        for dep in modules[name].public + modules[name].private:
            if dep in position and position[dep] > position[name]:
                problems.append(f"src/CMakeLists.txt: add_subdirectory({name}) comes before "
                                f"add_subdirectory({dep}), but {name} depends on {dep} (modules "
                                "must be added in dependency order)")


def exported(modules: dict[str, Module], name: str, seen: set[str] | None = None) -> set[str]:
    """A module and everything its public dependencies export, transitively."""
    seen = set() if seen is None else seen
    if name in seen or name not in modules:
        return seen
    seen.add(name)
    for dep in modules[name].public:
        exported(modules, dep, seen)
    return seen


def visible_from_sources(modules: dict[str, Module], name: str) -> set[str]:
    out = {name}
    for dep in modules[name].public + modules[name].private:
        out |= exported(modules, dep)
    return out


def visible_from_headers(modules: dict[str, Module], name: str) -> set[str]:
    return exported(modules, name)


def tracked_files(*paths: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--", *paths], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    return [ROOT / p for p in listed if p.endswith((".h", ".cc", ".hpp", ".cpp"))]


def check_includes(path: Path, allowed: set[str], owner: str, how: str) -> None:
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        m = INCLUDE_RE.match(line)
        if m and m.group(1) not in allowed:
            included = line.strip().split(None, 1)[1] if " " in line.strip() else line.strip()
            problems.append(f"{path.relative_to(ROOT)}:{number}: {included} crosses an undeclared "
                            f"module edge: {owner} -> {m.group(1)} ({how})")


def adapter_targets(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Non-module targets (apps/, tests/, bench/, fuzz/) -> the csml targets they link."""
    links: dict[str, set[str]] = {}
    for lists in ROOT.glob("*/**/CMakeLists.txt"):
        if lists.parts[len(ROOT.parts)] in ("src", "build", "third_party"):
            continue
        for cmd, args in cmake_calls(lists):
            if cmd == "target_link_libraries" and args:
                links.setdefault(args[0], set()).update(a for a in args[1:] if a not in KEYWORDS)
            elif cmd == "csml_add_test" and args:
                s = sections(args, {"SOURCES", "DEPS", "LABELS"})
                links.setdefault(s[""][0], set()).update(s.get("DEPS", []))
    return links


def resolve(target: str, modules: dict[str, Module], links: dict[str, set[str]],
            seen: set[str]) -> set[str]:
    """The modules a target may include: what it links, transitively."""
    if target in seen:
        return set()
    seen.add(target)
    if target in ("csml::domain", "csml_domain"):
        return set(modules)
    name = module_name(target)
    if name in modules:
        return exported(modules, name)
    out: set[str] = set()
    for dep in links.get(target, ()):
        out |= resolve(dep, modules, links, seen)
    return out


def targets_in(lists: Path) -> list[str]:
    out = []
    for cmd, args in cmake_calls(lists):
        if cmd in ("add_executable", "add_library", "csml_add_test") and args:
            out.append(args[0])
    return out


def source_targets() -> dict[Path, set[str]]:
    """Source file -> the non-module targets that compile it (as their CMake files list it)."""
    out: dict[Path, set[str]] = {}
    for lists in ROOT.glob("*/**/CMakeLists.txt"):
        if lists.parts[len(ROOT.parts)] in ("src", "build"):
            continue
        for cmd, args in cmake_calls(lists):
            if cmd == "csml_add_test" and args:
                files = sections(args, {"SOURCES", "DEPS", "LABELS"}).get("SOURCES", [])
            elif cmd in ("add_executable", "add_library") and args:
                files = [a for a in args[1:] if a not in KEYWORDS]
            else:
                continue
            for f in files:
                f = f.replace("${PROJECT_SOURCE_DIR}", str(ROOT))
                f = f.replace("${CMAKE_CURRENT_SOURCE_DIR}", str(lists.parent))
                path = Path(f) if f.startswith("/") else lists.parent / f
                out.setdefault(path.resolve(), set()).add(args[0])
    return out


def nearest_lists(path: Path) -> Path | None:
    d = path.parent
    while d != ROOT and d != d.parent:
        if (d / "CMakeLists.txt").exists() and targets_in(d / "CMakeLists.txt"):
            return d / "CMakeLists.txt"
        d = d.parent
    return None


def check_all_includes(modules: dict[str, Module]) -> None:
    for name in modules:
        for path in tracked_files(f"src/{name}"):
            check_includes(path, visible_from_sources(modules, name), name,
                           f"src/{name}/CMakeLists.txt declares no dependency on it")
        for path in tracked_files(f"include/csml/{name}"):
            check_includes(path, visible_from_headers(modules, name), name,
                           "a public header may include only its module's public "
                           "dependencies")
    for path in tracked_files("include/csml"):
        owner = path.relative_to(ROOT / "include" / "csml").parts[0]
        if owner not in modules:
            problems.append(f"{path.relative_to(ROOT)}: include/csml/{owner}/ belongs to no "
                            f"module (no src/{owner}/CMakeLists.txt)")
    links = adapter_targets(modules)
    compiled_by = source_targets()
    for path in tracked_files("apps", "tests", "bench", "fuzz"):
        # A listed source: the targets that compile it; a header (or an unlisted file): every
        # target of the nearest CMakeLists.txt.
        targets = compiled_by.get(path.resolve())
        if targets:
            where = "no target that compiles it links it (" + ", ".join(sorted(targets)) + ")"
        else:
            lists = nearest_lists(path)
            if lists is None:
                continue
            targets = set(targets_in(lists))
            where = f"no target of {lists.relative_to(ROOT)} links it"
        allowed: set[str] = set()
        for target in targets:
            allowed |= resolve(target, modules, links, set())
        owner = str(path.parent.relative_to(ROOT)) + "/"
        check_includes(path, allowed, owner, where)


# ---- docs/ARCHITECTURE.md ----

def short_library(target: str) -> str:
    ns, _, name = target.partition("::")
    return ns if name and ns == name else target


def doc_cells(mod: Module) -> tuple[str, str]:
    deps = ", ".join(mod.public + [f"{d} (private)" for d in mod.private]) or "-"
    libs = ", ".join(short_library(t) + (" (private)" if private else "")
                     for t, private in mod.libraries) or "-"
    return deps, libs


def check_doc(modules: dict[str, Module], order: list[str], write: bool) -> None:
    lines = DOC.read_text().splitlines()
    try:
        start = lines.index(DOC_SECTION)
    except ValueError:
        problems.append(f"docs/ARCHITECTURE.md: no '{DOC_SECTION}' section")
        return
    rows: dict[str, int] = {}
    header = None
    i = start + 1
    while i < len(lines) and not lines[i].startswith("## "):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        if lines[i].startswith("|") and header is None:
            header = cells
        elif lines[i].startswith("|") and not set(lines[i]) <= set("|-: "):
            rows[cells[0]] = i
        i += 1
    expected_header = ["module", "depends on", "libraries", "owns"]
    if header != expected_header:
        problems.append("docs/ARCHITECTURE.md: the module table's columns must be "
                        f"{' | '.join(expected_header)}, got {header}")
        return
    for name in order:
        if name in modules and name not in rows:
            problems.append(f"docs/ARCHITECTURE.md: the module table has no row for '{name}'")
    for name, at in rows.items():
        if name not in modules:
            problems.append(f"docs/ARCHITECTURE.md:{at + 1}: the module table lists '{name}', "
                            "which is not a module in src/")
            continue
        cells = [c.strip() for c in lines[at].strip().strip("|").split("|")]
        deps, libs = doc_cells(modules[name])
        if write:
            lines[at] = f"| {name} | {deps} | {libs} | {cells[3]} |"
            continue
        for column, got, want in (("depends on", cells[1], deps), ("libraries", cells[2], libs)):
            if sorted(got.split(", ")) != sorted(want.split(", ")):
                problems.append(f"docs/ARCHITECTURE.md:{at + 1}: module '{name}': the "
                                f"'{column}' column says '{got}', src/{name}/CMakeLists.txt "
                                f"declares '{want}' (scripts/check_modules.py --write-docs "
                                "rewrites it)")
    if write:
        DOC.write_text("\n".join(lines) + "\n")
    elif list(rows) != [n for n in order if n in rows]:
        problems.append("docs/ARCHITECTURE.md: the module table's rows must follow "
                        "src/CMakeLists.txt's order: " + ", ".join(order))


def main() -> int:
    write_docs = "--write-docs" in sys.argv[1:]
    modules, order = read_modules()
    check_graph(modules, order)
    if not problems:
        check_all_includes(modules)
    check_doc(modules, order, write_docs)
    for p in problems:
        print(f"modules: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
