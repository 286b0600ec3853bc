"""Sandboxed Jinja templates: checked once at load, compiled once, rendered per request with data.

Slot values only ever enter templates as *data* in the context; they are never compiled, so a
person who says "{{ 7*7 }}" gets those characters, not 49.

Jinja is imported only when a template that is not plain text is checked or first rendered: a
request whose words are all literal (a LaunchRequest of most maps) never loads it. A template
from the pre-validated map of the Lambda bundle (skill/bundle.py) was checked at build time and
is compiled on its first render.

Most templates only put names' values between their own text (``"Where is {{ User }}?"``). Those
are rendered by :class:`_NameTemplate` without Jinja's per-render context (two copies of the
context and of the environment's globals): the same text in the same order, each value through
the same ``finalize`` and the same escaping as the code Jinja compiles for them. Everything else
(filters, attributes, tests, calls, statements) goes through the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from .errors import RenderError
from .ssml import escape_ssml

if TYPE_CHECKING:
    import jinja2
    import jinja2.nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment


def _finalize(value: Any) -> Any:
    return "" if value is None else value


class _SSMLText(str):
    """Text already escaped for SSML: autoescape leaves it as it is."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def _speech_finalizer(*, quote: bool) -> Any:
    def finalize(value: Any) -> Any:
        """Every value that reaches speech is escaped here, even inside ``{% autoescape false %}``.

        Only a value that is markup by construction (``speaker_name``, or what autoescape joined
        from escaped parts) keeps its tags; nothing a person said can become one.
        """
        if hasattr(value, "__html__"):
            return value
        return _SSMLText(escape_ssml(str(_finalize(value)), quote=quote))

    return finalize


@cache
def _blank() -> type[jinja2.Undefined]:
    import jinja2

    class Blank(jinja2.ChainableUndefined):
        """An unknown name renders as nothing, and never as "None"."""

        __slots__ = ()

        def __str__(self) -> str:
            return ""

    return Blank


#: kind -> (autoescape, quote). "ssml": SSML speech: the template's own markup stays, values from the
#: context are escaped (quotes too: a value may stand inside an attribute). "speech": plain speech:
#: its own text is escaped when compiled, values as they render.
_ENV_KINDS = {"text": (False, False), "ssml": (True, True), "speech": (True, False)}


@cache
def _env(kind: str) -> ImmutableSandboxedEnvironment:
    """The Jinja environment of one kind of template (``_ENV_KINDS``), made on first use."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    autoescape, quote = _ENV_KINDS[kind]
    env = ImmutableSandboxedEnvironment(
        undefined=_blank(),
        autoescape=autoescape,
        finalize=_speech_finalizer(quote=quote) if autoescape else _finalize,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Nothing in a notification needs a way to reach functions through objects.
    for name in ("cycler", "joiner", "lipsum"):
        env.globals.pop(name, None)
    if autoescape:  # `|safe` would let a slot value through as markup
        env.filters.pop("safe", None)
    return env


@cache
def _output(kind: str) -> tuple[Callable[[Any], Any], Callable[[Any], str]]:
    """What Jinja's compiled code does with a name's value in an environment of ``kind``: finalize, then write."""
    from markupsafe import escape  # Jinja's own escape (jinja2.runtime imports it from here)

    autoescape, quote = _ENV_KINDS[kind]
    return (_speech_finalizer(quote=quote), escape) if autoescape else (_finalize, str)


@cache
def _plain_output(kind: str) -> Callable[[str], str]:
    """What ``_output(kind)`` makes of a value of type ``str``, in one step (the usual slot value)."""
    autoescape, quote = _ENV_KINDS[kind]
    if not autoescape:
        return str
    return partial(escape_ssml, quote=True) if quote else escape_ssml


@dataclass(frozen=True)
class _NameTemplate:
    """A template of text and ``{{ name }}`` only, rendered as Jinja's compiled code renders it.

    ``parts``: the template's text (as Jinja parsed it: blocks trimmed, plain speech already
    escaped) and, where ``is_name`` is true, the name whose value goes there.
    """

    parts: tuple[tuple[str, bool], ...]
    kind: str

    def render(self, context: Mapping[str, Any]) -> str:
        finalize, write = _output(self.kind)
        plain = _plain_output(self.kind)
        out = []
        for text, is_name in self.parts:
            if not is_name:
                out.append(text)
            elif text in context:
                value = context[text]
                out.append(plain(value) if type(value) is str else write(finalize(value)))
            else:  # as Jinja does: an Undefined of the environment, which renders as nothing
                out.append(write(finalize(_blank()(name=text))))
        return "".join(out)


def _name_template(ast: jinja2.nodes.Template, kind: str) -> _NameTemplate | None:
    """The template as text and names, when that is all it is (else None: Jinja renders it)."""
    import jinja2.nodes

    parts: list[tuple[str, bool]] = []
    globals_ = _env(kind).globals
    for node in ast.body:
        if not isinstance(node, jinja2.nodes.Output):
            return None
        for child in node.nodes:
            if type(child) is jinja2.nodes.TemplateData:
                parts.append((child.data, False))
            elif type(child) is jinja2.nodes.Name and child.ctx == "load" and child.name not in globals_:
                parts.append((child.name, True))
            else:
                return None
    return _NameTemplate(tuple(parts), kind)


@dataclass(frozen=True)
class Template:
    """A checked template and the names it reads; compiled at the check, or on its first render."""

    source: str
    variables: frozenset[str]
    literal: bool
    ssml: bool = False
    #: plain speech compiled to SSML: its own text escaped once, here, and values escaped as they render
    speech: bool = False
    _compiled: jinja2.Template | None = field(default=None, repr=False, compare=False)
    #: the same template as text and names, when it is no more (rendered without Jinja's context)
    _names: _NameTemplate | None = field(default=None, repr=False, compare=False)

    def render(self, context: Mapping[str, Any]) -> str:
        """Render with ``context``; a sandbox violation or runtime error becomes RenderError."""
        if self.literal:
            return self.source
        compiled, names = self._compiled, self._names
        if compiled is None:  # from the pre-validated map: checked at build time, compiled once here
            compiled, _, names = _compile(self.source, ssml=self.ssml, speech=self.speech)
            object.__setattr__(self, "_names", names)
            object.__setattr__(self, "_compiled", compiled)
        try:
            if names is not None:
                return names.render(context)
            # Only the names the template reads: Jinja copies the context it is given, twice.
            return compiled.render({name: context[name] for name in self.variables if name in context})
        except Exception as err:  # a template is user code: any failure is a render failure
            from jinja2.sandbox import SecurityError

            if isinstance(err, SecurityError):
                raise RenderError("a template tried something the sandbox does not allow") from err
            raise RenderError(f"a template failed: {type(err).__name__}") from err

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the compiled code (skill/bundle.py): it is compiled again on first render."""
        return {k: v for k, v in self.__dict__.items() if k not in {"_compiled", "_names"}}


def _compile(source: str, *, ssml: bool, speech: bool) -> tuple[jinja2.Template, frozenset[str], _NameTemplate | None]:
    """The compiled template, the names it reads and its text-and-names form (if it has one).

    Raises jinja2.TemplateSyntaxError with a line number.
    """
    import jinja2.meta
    import jinja2.nodes

    kind = "ssml" if ssml else "speech" if speech else "text"
    env = _env(kind)
    ast = env.parse(source)
    variables = frozenset(jinja2.meta.find_undeclared_variables(ast))
    if speech:
        for node in ast.find_all(jinja2.nodes.TemplateData):
            node.data = escape_ssml(node.data)
    names = _name_template(ast, kind)
    return env.from_string(ast), variables, names


def compile_template(source: str, *, ssml: bool = False, speech: bool = False) -> Template:
    """Check and compile ``source`` once; raises jinja2.TemplateSyntaxError with a line number.

    ``ssml``: speech written as SSML. ``speech``: plain-text speech; its text is escaped here, so
    that only ``speaker_name`` can put a tag into what Alexa says.
    """
    if not any(token in source for token in ("{{", "{%", "{#")):
        return Template(source, frozenset(), literal=True, ssml=ssml)
    as_speech = speech and not ssml
    compiled, variables, names = _compile(source, ssml=ssml, speech=as_speech)
    return Template(source, variables, literal=False, ssml=ssml, speech=as_speech, _compiled=compiled, _names=names)
