"""Run the documentation: every code block, every output block, every quoted figure.

``tests/test_docs.py`` runs each page of ``README.md`` and ``docs/*.md`` through
:func:`run_page`; ``python tests/docs_runner.py [PAGE ...]`` does the same from the shell
and prints what ran, what was compared, what was not run and why, and how long it took;
``--no-prose`` leaves out the check of the prose's numbers;
``--update`` rewrites the output blocks that differ from what the code now prints (not
those abridged with ``...``), for you to review with ``git diff``.

What runs (per page, top to bottom, in one temporary folder holding copies of the
repository's ``data/`` and ``examples/``, as a user has them in the folder they installed
from; everything a page writes stays in that folder):

* ```` ```python ```` blocks share one namespace per page. A block with ``>>>`` prompts is
  a doctest (``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``); any other block is executed and
  what it prints is captured. A ``DeprecationWarning`` or ``FutureWarning`` raised at the
  page's own code is an error: the docs must not teach a deprecated call.
* ```` ```bash ```` blocks: each command (``\\`` continuations joined) must start with
  ``pbr-eval`` or ``python``/``python3``; it runs with ``bash`` in the page's folder and must
  exit 0. ```` ```console ```` blocks: each ``$ command`` runs the same way and the lines
  after it are its expected output.
* An output block is a ```` ```text ```` (or untagged) block that directly follows a code
  block (nothing but blank lines between): it must equal what that block printed (stdout
  and stderr of a command; stdout of Python), after :func:`normalise`.
* Markers, HTML comments invisible on the rendered page, on the line before a block:
  ``<!-- docs-test: skip REASON -->`` (not run; the reason is reported),
  ``<!-- docs-test: output-of COMMAND -->`` (the block is the output of a shell command),
  ``<!-- docs-test: same-as PATH -->`` (the block equals that repository file; ``...``
  lines allowed), ``<!-- docs-test: exit N -->`` (a bash/console block's commands exit N).
  Any other block (toml, an untagged block after prose, ...) without a marker is an error.

Figures quoted in prose (paragraphs, lists, tables; not headings, code, inline code, link
targets or a "References" section) are checked by markers on the line(s) after the
paragraph:

* ``<!-- docs-figure: TEMPLATE -->``: TEMPLATE is the body of a Python f-string evaluated
  in the page's namespace at that point; the result must appear in the paragraph
  (whitespace and ``**`` ignored). ``{res.to_frame().loc[0, "observed"]:.1%}`` -> ``24.7%``.
  Besides the page's names, templates see ``REPO`` (the repository's path), ``pd``
  (pandas) and ``default(func, "param")`` (a parameter's default value).
* ``<!-- docs-figures-from: PATH [PATH ...] -->``: every number of the paragraph not
  otherwise checked must occur in one of these repository files (committed benchmark
  output, ``docs/validation.csv``, a reference script's log, a test): as written, or, for a
  number with decimals, rounded from one of the file's numbers (``0.956`` from
  ``0.95634``), or, before "%" (also in a range "95.6-96.6%"), as a percentage of one
  (``95.6%`` or ``96%`` from ``0.95634``).
  Right after a heading, it applies to every paragraph of that section (for generated
  tables and their captions).
* ``<!-- docs-not-figures: LITERAL ... -- REASON -->``: these numbers of the paragraph are
  not results (a convention, an option's value, a published constant, a citation).

Every number of the prose must be covered: by a figure template's match, by occurring in a
checked block of the same section (between two headings: an output block, a block that
ran, a file-checked block), or by one of the two markers. Exempt: single-digit whole numbers (``Y(0)``, ``1:1``, step
2), four-digit years (1900-2099), ISO dates, versions (``4.7.1``, "version 0.1") and the level in
"95% CI" / "95% interval" / "95% confidence". An unchecked number fails the test, so a figure
cannot be added, or drift, without a check.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Folders of the repository copied into each page's working folder.
SHIPPED = ("data", "examples")
COMMAND_STARTS = ("pbr-eval", "python", "python3")
OUTPUT_LANGS = ("text", "")

_MARKER = re.compile(r"^<!--\s*docs-(test|figures-from|figures|figure|not-figures):?(.*?)(-->)?\s*$")
_FENCE = re.compile(r"^(```+)\s*([\w+-]*)\s*$")
# A number as written in prose: 12,000  0.247  3.5  1e-12 (sign and % are not part of it).
_NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z_]-)\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?(?![\w])")
_YEAR = re.compile(r"^(19|20)\d\d$")
_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"
)


_VERSION = re.compile(r"pbr_eval \d+\.\d+(?:\.\d+)?(?:[.+-]?\w+)?")
# Not figures: ISO dates, dotted versions (4.7.1, "version 0.1"), "95% CI" / "95% interval".
_EXEMPT = re.compile(r"\d{4}-\d\d-\d\d|\d+\.\d+\.\d+|\b95% (?:CI|interval|confidence)"
                     r"|\b[Vv]ersions? \d+(?:\.\d+)*")


class DocsError(AssertionError):
    """A documentation check failed; the message names the page and line."""


@dataclass
class Block:
    """A fenced code block."""

    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None = None  # ("skip", reason), ("output-of", cmd), ...
    follows_code: bool = False  # directly after a code block (an output block)


@dataclass
class Paragraph:
    """Prose: a run of non-blank lines outside code blocks."""

    line: int
    text: str
    heading: bool = False
    in_references: bool = False
    figures: list[tuple[int, str]] = field(default_factory=list)  # (line, template)
    sources: list[str] = field(default_factory=list)
    not_figures: list[str] = field(default_factory=list)


@dataclass
class Page:
    path: Path
    items: list[Block | Paragraph]

    @property
    def name(self) -> str:
        return _name(self.path)


def _name(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.name


@dataclass
class Report:
    """What happened on one page."""

    page: str
    ran: int = 0  # code blocks executed (python, bash, console)
    compared: int = 0  # output and file blocks compared
    figures: int = 0  # figure templates checked
    numbers: int = 0  # numbers in prose, all covered
    not_run: list[str] = field(default_factory=list)  # "line: reason"
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds of this process and of the commands it ran
    timings: list[tuple[int, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.page}: {self.ran} blocks run, {self.compared} outputs compared, "
                f"{self.figures} figures, {self.numbers} prose numbers checked, "
                f"{len(self.not_run)} not run, {self.seconds:.1f} s ({self.cpu:.1f} s CPU)")


# --------------------------------------------------------------------------- parsing
def parse(path: Path) -> Page:
    """Split a Markdown page into blocks and paragraphs, attaching markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    items: list[Block | Paragraph] = []
    pending: tuple[str, str] | None = None  # a docs-test marker waiting for its block
    para: list[str] = []
    para_start = 0
    in_refs = False
    ref_level = 0
    last_was_code = False  # the previous non-blank item was a code block
    i = 0

    section_sources: list[str] = []  # docs-figures-from right after a heading

    def flush() -> None:
        nonlocal para
        if para:
            text = "\n".join(para)
            heading = text.startswith("#")
            items.append(Paragraph(para_start, text, heading=heading, in_references=in_refs,
                                   sources=[] if heading else list(section_sources)))
        para = []

    def where(n: int) -> str:
        return f"{_name(path)}:{n}"

    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        fence = _FENCE.match(stripped)
        marker = _MARKER.match(stripped)
        if fence:
            flush()
            ticks, lang = fence.group(1), fence.group(2).lower()
            start = i + 1
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != ticks:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise DocsError(f"{where(start)}: code block never closed")
            block = Block(start, lang, "\n".join(body) + "\n", pending,
                          follows_code=last_was_code and lang in OUTPUT_LANGS)
            items.append(block)
            pending = None
            last_was_code = lang not in OUTPUT_LANGS
            i += 1
            continue
        if marker:
            kind, rest, closed = marker.group(1), marker.group(2).strip(), marker.group(3)
            n = i + 1
            if "-->" in rest:
                raise DocsError(f"{where(n)}: nothing may follow '-->' on a marker's line")
            if not closed:  # a multi-line marker: one template (or path) per line
                i += 1
                while i < len(lines) and "-->" not in lines[i]:
                    if not lines[i].strip() or _FENCE.match(lines[i].strip()):
                        raise DocsError(f"{where(n)}: marker not closed with '-->' before a "
                                        "blank line")
                    rest += "\n" + lines[i].strip()
                    i += 1
                if i == len(lines) or lines[i].split("-->", 1)[1].strip():
                    raise DocsError(f"{where(n)}: marker not closed, or text after '-->'")
                tail = lines[i].split("-->")[0].strip()
                rest = (rest + "\n" + tail).strip()
            flush()
            if kind == "test":
                verb, _, arg = rest.partition(" ")
                if verb not in ("skip", "output-of", "same-as", "exit"):
                    raise DocsError(f"{where(n)}: unknown marker 'docs-test: {verb}'; use skip, "
                                    "output-of, same-as or exit")
                if not arg.strip():
                    raise DocsError(f"{where(n)}: 'docs-test: {verb}' needs a reason, command, "
                                    "path or exit code")
                pending = (verb, arg.strip())
            else:
                target = items[-1] if items else None
                if (kind == "figures-from" and isinstance(target, Paragraph)
                        and target.heading):  # applies to the whole section
                    section_sources.extend(rest.split())
                    i += 1
                    continue
                if not isinstance(target, Paragraph) or target.heading:
                    raise DocsError(f"{where(n)}: a docs-{kind} marker must directly follow "
                                    "the paragraph it checks")
                if kind in ("figure", "figures"):
                    target.figures += [(n, t.strip()) for t in rest.split("\n") if t.strip()]
                elif kind == "figures-from":
                    target.sources += rest.split()
                else:
                    literals, sep, reason = rest.partition(" -- ")
                    if not sep or not reason.strip():
                        raise DocsError(f"{where(n)}: docs-not-figures needs "
                                        "'LITERAL ... -- REASON'")
                    target.not_figures += literals.split()
            i += 1
            continue
        if not stripped:
            flush()
            i += 1
            continue
        if stripped.startswith("<!--"):  # some other comment (e.g. a generator's fence)
            flush()
            while i < len(lines) and "-->" not in lines[i]:
                i += 1
            i += 1
            continue
        if stripped.startswith("#"):
            flush()
            level = len(stripped) - len(stripped.lstrip("#"))
            title = stripped.lstrip("#").strip().lower()
            if title in ("references", "reference"):
                in_refs, ref_level = True, level
            elif in_refs and level <= ref_level:
                in_refs = False
            section_sources = []
            para_start = i + 1
            para = [stripped]
            flush()
            last_was_code = False
            i += 1
            continue
        if pending is not None:
            raise DocsError(f"{where(i + 1)}: a docs-test marker must directly precede a code "
                            "block")
        if not para:
            para_start = i + 1
        para.append(raw)
        last_was_code = False
        i += 1
    flush()
    if pending is not None:
        raise DocsError(f"{path}: a docs-test marker at the end of the page has no block")
    return Page(path, items)


# --------------------------------------------------------------------------- comparing
def normalise(text: str, *, workdir: Path | None = None) -> list[str]:
    """What is ignored when output is compared with an output block.

    * whitespace: trailing whitespace, runs of spaces and tabs (read as one space), and
      blank lines;
    * timestamps: ISO 8601 date-times (``2026-11-22 10:04:55``, ``...T10:04:55Z``) become
      ``<timestamp>``;
    * paths: the page's temporary working folder becomes ``.``;
    * versions: ``pbr_eval 0.1.0`` (any version after "pbr_eval ") becomes
      ``pbr_eval <version>``.
    """
    if workdir is not None:
        for form in {str(workdir), str(workdir.resolve())}:
            text = text.replace(form, ".")
    text = _TIMESTAMP.sub("<timestamp>", text)
    text = _VERSION.sub("pbr_eval <version>", text)
    out = []
    for line in text.splitlines():
        line = re.sub(r"[ \t]+", " ", line).strip()
        if line:
            out.append(line)
    return out


def _line_matches(want: str, got: str) -> bool:
    if "..." not in want:
        return want == got
    pattern = ".*".join(re.escape(part) for part in want.split("..."))
    return re.fullmatch(pattern, got) is not None


def matches(want: list[str], got: list[str]) -> bool:
    """Line-by-line comparison; a line ``...`` stands for any number of lines, and
    ``...`` inside a line for any characters (as doctest's ELLIPSIS)."""
    memo: dict[tuple[int, int], bool] = {}

    def m(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(want):
            result = j == len(got)
        elif want[i] == "...":
            result = any(m(i + 1, k) for k in range(j, len(got) + 1))
        else:
            result = j < len(got) and _line_matches(want[i], got[j]) and m(i + 1, j + 1)
        memo[key] = result
        return result

    return m(0, 0)


def numbers(text: str) -> list[str]:
    """The numbers written in prose text, thousands separators removed."""
    return [n.replace(",", "") for n in _NUMBER.findall(text)]


_FILE_CACHE: dict[tuple, tuple[set[str], set[str]]] = {}


def _file_numbers(path: Path) -> tuple[set[str], set[str]]:
    """The numbers written in a file, and each number rounded as prose may quote it.

    The second set holds every number formatted with 1 to 6 decimals, and as a percentage
    (x 100) with 0 to 4 decimals followed by "%": ``0.95634`` gives ``0.96``, ``0.956``,
    ``95.6%`` and ``96%``, among others.
    """
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _FILE_CACHE:
        found = re.findall(r"(?<![\w.])[-+]?\d+(?:[,_]\d{3}(?!\d))*(?:\.\d+)?(?:[eE][-+]?\d+)?",
                           path.read_text(encoding="utf-8"))
        literal, rounded = set(), set()
        for raw in found:
            clean = raw.replace(",", "").replace("_", "").lstrip("+-")
            literal.add(clean)
            try:
                x = abs(float(clean))
            except ValueError:
                continue
            if x.is_integer() and x < 1e15:
                literal.add(str(int(x)))  # 120.0 in code is quoted as 120
            rounded.update(f"{x:.{d}f}" for d in range(1, 7))
            rounded.update(f"{100 * x:.{d}f}%" for d in range(5))
        _FILE_CACHE[key] = (literal, rounded)
    return _FILE_CACHE[key]


def _block_numbers(text: str) -> set[str]:
    """Numbers in code and output: 10_000 and 10,000 read as 10000, 1000.0 also as 1000."""
    out = set()
    for raw in re.findall(r"(?<![\w.])\d+(?:[,_]\d{3}(?!\d))*(?:\.\d+)?(?:e-?\d+)?", text):
        clean = raw.replace(",", "").replace("_", "")
        out.add(clean)
        try:
            x = float(clean)
        except ValueError:
            continue
        if x.is_integer() and x < 1e15:
            out.add(str(int(x)))
    return out


def prose_text(text: str) -> str:
    """Prose without inline code, link targets, HTML comments and image paths."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    text = re.sub(r"``.+?``|`[^`]*`", " ", text)
    return text


def _pandas():
    import pandas

    return pandas


def default(func, name: str):
    """The default value of parameter ``name`` of ``func`` (for figure templates)."""
    import inspect

    return inspect.signature(func).parameters[name].default


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "")).strip()


# --------------------------------------------------------------------------- running
def _workdir(tmp: Path) -> Path:
    for name in SHIPPED:
        shutil.copytree(REPO / name, tmp / name)
    return tmp


def _cpu() -> float:
    """CPU seconds used by this process and its finished child processes (joblib's
    reusable workers are not counted until they exit)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _command_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONHASHSEED"] = "0"
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "120"
    return env


def _commands(text: str) -> list[tuple[int, str]]:
    """Commands of a bash block: (offset, command) with continuations joined."""
    out, cur, start = [], "", 0
    for k, line in enumerate(text.splitlines()):
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if not cur:
            start = k
        cur += (" " if cur else "") + s.rstrip("\\").strip()
        if not s.endswith("\\"):
            out.append((start, cur))
            cur = ""
    if cur:
        out.append((start, cur))
    return out


def _console(text: str) -> list[tuple[int, str, str]]:
    """(offset, command, expected output) for each ``$ command`` of a console block."""
    out: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        if not lines[k].startswith("$ "):
            raise DocsError(f"console block line {k + 1}: output before any '$ ' command")
        start, cmd = k, lines[k][2:].strip()
        while cmd.endswith("\\"):
            k += 1
            cmd = cmd[:-1].strip() + " " + lines[k].strip()
        k += 1
        expected = []
        while k < len(lines) and not lines[k].startswith("$ "):
            expected.append(lines[k])
            k += 1
        out.append((start, cmd, "\n".join(expected)))
    return out


class PageRun:
    """Runs one page; collects failures instead of stopping at the first mismatch."""

    def __init__(self, page: Page, workdir: Path, *, prose: bool = True) -> None:
        self.prose = prose  # check that every number in the prose is covered
        self.page = page
        self.workdir = workdir
        self.ns: dict = {"__name__": "__docs__"}
        self.report = Report(page.name)
        self.checked_text: list[str] = []  # blocks whose content was run or compared
        self.broken = False  # a code block raised: later blocks are not run
        self.updates: list[tuple[int, str]] = []  # (fence line, what the code printed)
        self.pending: list[tuple[Paragraph, str, list[tuple[int, int]]]] = []

    def where(self, line: int) -> str:
        return f"{self.page.name}:{line}"

    def fail(self, line: int, message: str) -> None:
        self.report.failures.append(f"{self.where(line)}: {message}")

    # ---- code
    def run_python(self, block: Block) -> str:
        with warnings.catch_warnings():
            # the docs must not teach a deprecated call: a DeprecationWarning or
            # FutureWarning attributed to the page's own code is an error
            for category in (DeprecationWarning, FutureWarning):
                warnings.filterwarnings("error", category=category, module="__docs__")
            return self._run_python(block)

    def _run_python(self, block: Block) -> str:
        source = "\n" * (block.line) + block.text
        filename = str(self.page.path)
        buf = io.StringIO()
        if re.search(r"^\s*>>> ", block.text, re.M):
            parser = doctest.DocTestParser()
            test = parser.get_doctest(source, self.ns, self.page.name, filename, 0)
            runner = doctest.DocTestRunner(
                optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
            runner.run(test, out=buf.write, clear_globs=False)
            self.ns.update(test.globs)  # DocTest works on a copy of the namespace
            if runner.failures:
                raise DocsError(buf.getvalue())
            return ""
        with contextlib.redirect_stdout(buf):
            exec(compile(source, filename, "exec"), self.ns)  # noqa: S102
        return buf.getvalue()

    def traceback(self, exc: BaseException) -> str:
        """The traceback from the page's own line down (the runner's frames left out)."""
        tb = traceback.TracebackException.from_exception(exc)
        frames = list(tb.stack)
        first = next((k for k, f in enumerate(frames) if f.filename == str(self.page.path)), 0)
        tb.stack = traceback.StackSummary.from_list(frames[first:][-8:])
        return "".join(tb.format())

    def run_command(self, cmd: str, line: int, expect_exit: int = 0) -> str:
        first = cmd.split()[0]
        if first not in COMMAND_STARTS:
            raise DocsError(f"'{first}' is not a pbr-eval or python command; only those run. "
                            "Mark the block '<!-- docs-test: skip REASON -->' if it must "
                            "not run")
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=self.workdir,
                              env=_command_env(), capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != expect_exit:
            raise DocsError(f"`{cmd}` exited {proc.returncode} (expected {expect_exit}):\n"
                            f"{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
        return proc.stdout + proc.stderr

    def compare(self, line: int, want: str, got: str, what: str, *,
                updatable: bool = False) -> None:
        self.report.compared += 1
        w = normalise(want, workdir=self.workdir)
        g = normalise(got, workdir=self.workdir)
        if not matches(w, g):
            if updatable and "..." not in want and got.strip():
                text = got
                for form in {str(self.workdir.resolve()), str(self.workdir)}:
                    text = text.replace(form, ".")
                self.updates.append((line, "\n".join(x.rstrip() for x in
                                                     text.strip("\n").splitlines())))
            self.fail(line, f"{what} differs from what the code prints.\n"
                      "--- the page says\n" + "\n".join(w) + "\n--- the code prints\n"
                      + "\n".join(g))

    # ---- figures
    def check_figures(self, para: Paragraph) -> None:
        flat = _flat(para.text)
        spans: list[tuple[int, int]] = []
        failed = False
        env = {**self.ns, "REPO": REPO, "default": default, "pd": _pandas()}
        for line, template in para.figures:
            self.report.figures += 1
            try:
                rendered = eval("f" + repr(template), env)  # noqa: S307
            except Exception as exc:  # noqa: BLE001
                self.fail(line, f"figure template {template!r} cannot be evaluated: "
                          f"{type(exc).__name__}: {exc}")
                failed = True
                continue
            rendered = _flat(rendered)
            pos = flat.find(rendered)
            if pos < 0:
                self.fail(line, f"the text does not say what the code gives: expected "
                          f"{rendered!r} in the paragraph at line {para.line} "
                          f"(template {template!r})")
                failed = True
                continue
            spans.append((pos, pos + len(rendered)))
        if para.in_references or para.heading or failed or not self.prose:
            return
        self.pending.append((para, flat, spans))  # checked at the end of its section

    def check_coverage(self, para: Paragraph, flat: str, spans: list[tuple[int, int]]) -> None:
        source_numbers: set[str] = set()
        source_rounded: set[str] = set()
        for rel in para.sources:
            path = REPO / rel
            if not path.is_file():
                self.fail(para.line, f"docs-figures-from names {rel}, which does not exist")
                continue
            literal, rounded = _file_numbers(path)
            source_numbers |= literal
            source_rounded |= rounded
        page_numbers = _block_numbers("\n".join(self.checked_text))
        declared = [n.replace(",", "") for n in para.not_figures]
        # Positions in `flat` of the prose (not inline code) numbers.
        masked = _EXEMPT.sub(" ", _flat(prose_text(para.text)))
        unknown = []
        used_declared: set[str] = set()
        for m in _NUMBER.finditer(masked):
            raw = m.group(0)
            n = raw.replace(",", "")
            if (len(n) == 1 and n.isdigit()) or _YEAR.match(raw):
                continue
            self.report.numbers += 1
            if n in declared:
                used_declared.add(n)
                continue
            if n in page_numbers or n in source_numbers:
                continue
            percent = re.match(r"%|[-\u2013]\s*\d[\d.,]*%", masked[m.end():]) is not None
            if ("." in n or percent) and (n + "%" if percent else n) in source_rounded:
                continue
            # inside a figure template's match? (find this occurrence in `flat`)
            ctx = masked[max(0, m.start() - 12): m.end() + 12]
            hit = False
            for a, b in spans:
                seg = flat[a:b]
                if raw in seg:
                    hit = True
                    break
            if not hit:
                unknown.append(f"{raw!r} (…{ctx.strip()}…)")
        for n in declared:
            if n not in used_declared:
                self.fail(para.line, f"docs-not-figures lists {n!r}, which is not in the "
                          "paragraph above it")
        if unknown:
            self.fail(para.line, "numbers quoted without a check: " + "; ".join(unknown)
                      + ". Add '<!-- docs-figure: ... -->' (an f-string the code renders), "
                      "'<!-- docs-figures-from: FILE -->' or, for a number that is not a "
                      "result, '<!-- docs-not-figures: N -- reason -->' after the paragraph")

    # ---- the page
    def run(self) -> Report:
        t0 = time.perf_counter()
        cpu0 = _cpu()
        items = self.page.items
        last_output = ""
        for item in items:
            if isinstance(item, Paragraph):
                if item.heading:  # a number restated in prose must be in its own section
                    self.end_section()
                if not self.broken:
                    self.check_figures(item)
                continue
            block = item
            marker = block.marker
            if marker and marker[0] == "skip":
                self.report.not_run.append(f"{self.page.name}:{block.line}: {marker[1]}")
                last_output = None
                continue
            if self.broken:
                continue
            if marker and marker[0] == "same-as":
                path = REPO / marker[1]
                if not path.is_file():
                    self.fail(block.line, f"same-as names {marker[1]}, which does not exist")
                else:
                    self.compare(block.line, block.text, path.read_text(encoding="utf-8"),
                                 f"the block (same-as {marker[1]})")
                    self.checked_text.append(block.text)
                continue
            if marker and marker[0] == "output-of":
                try:
                    got = self.run_command(marker[1], block.line)
                except DocsError as exc:
                    self.fail(block.line, str(exc))
                    continue
                self.report.ran += 1
                self.compare(block.line, block.text, got, f"the output of `{marker[1]}`",
                             updatable=True)
                self.checked_text.append(block.text)
                continue
            if block.lang in OUTPUT_LANGS:
                if not block.follows_code or last_output is None:
                    self.fail(block.line, "a text block that does not follow a code block: "
                              "mark it '<!-- docs-test: output-of COMMAND -->', "
                              "'<!-- docs-test: same-as PATH -->' or "
                              "'<!-- docs-test: skip REASON -->'")
                    continue
                self.compare(block.line, block.text, last_output, "the output block",
                             updatable=True)
                self.checked_text.append(block.text)
                last_output = None  # one output block per code block
                continue
            expect_exit = int(marker[1]) if marker and marker[0] == "exit" else 0
            t = time.perf_counter()
            try:
                if block.lang == "python":
                    last_output = self.run_python(block)
                elif block.lang in ("bash", "sh", "shell"):
                    out = []
                    for off, cmd in _commands(block.text):
                        try:
                            out.append(self.run_command(cmd, block.line + 1 + off,
                                                        expect_exit))
                        except DocsError as exc:
                            raise DocsError(f"line {block.line + 1 + off}: {exc}") from None
                    last_output = "".join(out)
                elif block.lang == "console":
                    for off, cmd, expected in _console(block.text):
                        got = self.run_command(cmd, block.line + 1 + off, expect_exit)
                        if expected.strip():
                            self.compare(block.line + 1 + off, expected, got,
                                         f"the output of `{cmd}`")
                    last_output = None
                else:
                    self.fail(block.line, f"a ```{block.lang} block is neither run nor "
                              "compared: mark it '<!-- docs-test: same-as PATH -->' or "
                              "'<!-- docs-test: skip REASON -->'")
                    continue
            except Exception as exc:  # noqa: BLE001
                detail = str(exc) if isinstance(exc, DocsError) else self.traceback(exc)
                self.fail(block.line, f"the {block.lang} block failed:\n{detail}")
                self.broken = True
                continue
            finally:
                self.report.timings.append((block.line, time.perf_counter() - t))
            self.report.ran += 1
            self.checked_text.append(block.text)
        self.end_section()
        self.report.seconds = time.perf_counter() - t0
        self.report.cpu = _cpu() - cpu0
        return self.report

    def end_section(self) -> None:
        """Check the section's prose numbers against its blocks (before and after them)."""
        for para, flat, spans in self.pending if not self.broken else []:
            self.check_coverage(para, flat, spans)
        self.pending = []
        self.checked_text = []


def run_page(path: Path, *, update: bool = False, prose: bool = True) -> Report:
    """Run one page in a fresh temporary folder and return its report.

    With ``update=True``, output blocks that differ from what the code prints (and are not
    abridged with ``...``) are rewritten with the code's output: review the diff.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    page = parse(path)
    old = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="pbr-docs-") as tmp:
        workdir = _workdir(Path(tmp))
        os.chdir(workdir)
        try:
            run = PageRun(page, workdir, prose=prose)
            report = run.run()
            if update and run.updates:
                _rewrite(path, run.updates)
            return report
        finally:
            os.chdir(old)
            plt.close("all")


def _rewrite(path: Path, updates: list[tuple[int, str]]) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    for fence, text in sorted(updates, reverse=True):
        ticks = re.match(r"`+", lines[fence - 1].strip()).group(0)
        end = fence  # 0-based index of the closing fence
        while lines[end].strip() != ticks:
            end += 1
        lines[fence:end] = text.split("\n")
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    update = "--update" in argv
    prose = "--no-prose" not in argv
    paths = [Path(a).resolve() for a in argv if not a.startswith("--")] or PAGES
    bad = 0
    for path in paths:
        report = run_page(path, update=update, prose=prose)
        print(report.line())
        for line, secs in report.timings:
            if secs > 1:
                print(f"    block at line {line}: {secs:.1f} s")
        for reason in report.not_run:
            print(f"    not run: {reason}")
        for failure in report.failures:
            bad += 1
            print("FAIL " + failure)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
