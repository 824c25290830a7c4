"""A malformed setting is explained in the reader's language: every configuration error (and
every error of the embedded server, which EMBEDDED_DB_PATH decides) carries a template from the
catalog and its values, and the app words it in Spanish for LANGUAGE=es (the command line keeps
the English, `str(exc)`).

These messages were English f-strings: a Spanish coordinator read "La configuración no es
válida: AUTO_SYNC_MINUTES='cada hora' is not a whole number"."""

from __future__ import annotations

import ast
import importlib
import string

import pytest
from babel.messages.pofile import read_po

from segcore.core.errors import ConfigError
from segcore.settings.config import settings_from
from segcore.settings.config_envfile import read_env_file
from tests.helpers import ROOT
from ui.app import i18n
from ui.app.actions import worded

CATALOG = ROOT / "locales" / "es" / "LC_MESSAGES" / "messages.po"


# The errors a coordinator reads while setting the app up.
SETUP_ERRORS = {"ConfigError", "EmbeddedServerError"}


def raised_templates() -> tuple[list[str], list[str]]:
    """Every template a setup error (`ConfigError(...)`…) in segcore is raised with, and the
    calls whose message is not one (an f-string, a text built in place): those reach a Spanish
    page in English. A template is an `N_("...")` call, or a module-level name (or an entry of
    one) holding `N_` texts."""
    templates, offenders = [], []
    for path in sorted((ROOT / "segcore").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in SETUP_ERRORS
                and node.args
            ):
                continue
            message = node.args[0]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if (
                isinstance(message, ast.Call)
                and isinstance(message.func, ast.Name)
                and message.func.id == "N_"
                and isinstance(message.args[0], ast.Constant)
            ):
                templates.append(message.args[0].value)
                continue
            root = message.value if isinstance(message, ast.Subscript) else message
            value = (
                getattr(importlib.import_module(module), root.id, None)
                if isinstance(root, ast.Name)
                else None
            )
            if isinstance(value, str):
                templates.append(value)
            elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                templates.extend(value.values())
            else:
                offenders.append(f"{where}: {ast.unparse(message)[:70]}")
    return templates, offenders


def fields(text: str) -> set[str]:
    return {
        f"{name}!{conversion}" for _, name, _, conversion in string.Formatter().parse(text) if name
    }


def test_every_configuration_error_has_a_spanish_template():
    templates, offenders = raised_templates()
    assert offenders == [], "a setup error raised with a message the catalog cannot hold"
    assert len(templates) > 40
    with CATALOG.open("rb") as handle:
        catalog = {m.id: m for m in read_po(handle) if m.id}
    for template in templates:
        entry = catalog.get(template)
        assert entry is not None and entry.string and not entry.fuzzy, template
        assert fields(entry.string) == fields(template), (template, entry.string)


@pytest.fixture
def spanish(monkeypatch):
    monkeypatch.setattr(i18n, "current_language", lambda: "es")


@pytest.mark.parametrize(
    "env, expected",
    [
        (
            {"AUTO_SYNC_MINUTES": "cada hora"},
            "AUTO_SYNC_MINUTES='cada hora' no es un número entero",
        ),
        ({"AUTO_SYNC_MINUTES": "99999"}, "AUTO_SYNC_MINUTES=99999 está fuera del rango (0..1440)"),
        ({"MOVE_MAX_SHARE": "la mitad"}, "MOVE_MAX_SHARE='la mitad' no es un número (p. ej., 0.5"),
        ({"LANGUAGE": "fr"}, "LANGUAGE='fr' debe ser uno de: es, en"),
        ({"LOGIN": "quizá"}, "LOGIN='quizá' debe ser on u off"),
        ({"MASK_SUFFIXES": "_mask;_seg"}, "MASK_SUFFIXES: '_mask;_seg' no es un sufijo de máscara"),
        ({"MASK_EXTENSIONS": "p!ng"}, "MASK_EXTENSIONS: 'p!ng' no es una extensión de archivo"),
        ({"MASK_EXTENSIONS": ", ,"}, "MASK_EXTENSIONS: indica al menos una extensión"),
        ({"MASK_LABELS": "0,uno"}, "MASK_LABELS='0,uno': 'uno' no es un número"),
        ({"TIMEZONE": "Mexico/Tijuana2"}, "TIMEZONE='Mexico/Tijuana2' no es una zona horaria"),
        ({"TIMEZONE": "right/Europe/Madrid"}, "TIMEZONE='right/Europe/Madrid' es una copia"),
        ({"MONGO_URI": "http://db.lab"}, "MONGO_URI debe empezar con mongodb:// o mongodb+srv://"),
        ({"MONGO_URI": "mongodb://h/?tls=ture"}, "MONGO_URI: la opción 'tls' no se puede usar ("),
        ({"MONGO_URI": "mongodb://h/?w=0"}, "MONGO_URI: w=0 pide al servidor que no confirme"),
        ({"MONGO_URI": "mongodb://h/team.db"}, "MONGO_URI indica la base de datos 'team.db', que"),
        ({"MONGO_DB": "mi base"}, "MONGO_DB='mi base' no es un nombre válido de base de datos"),
        ({"TRAINING_DB": "segmentacion_db"}, "TRAINING_DB='segmentacion_db' es la base de datos"),
        ({"MASKS_BUCKET": "$masks"}, "MASKS_BUCKET='$masks' no es un nombre válido de bucket"),
        ({"SMTP_URL": "smtp://relay:25"}, "NOTIFY_FROM es obligatorio con SMTP_URL"),
        (
            {"SMTP_URL": "ftp://u:pw@mail"},
            "SMTP_URL debe empezar con smtps:// (TLS, puerto 465) o smtp:// (STARTTLS, puerto "
            "587); no se muestra, porque puede contener la contraseña",
        ),
        (
            {"WEBHOOK_URL": "https://hooks:99999/T0K3N"},
            "WEBHOOK_URL tiene un puerto que no es un número del 1 al 65535; no se muestra, "
            "porque contiene el token del webhook",
        ),
        ({"WEBHOOK_FORMAT": "xml"}, "WEBHOOK_FORMAT='xml' debe ser uno de: slack, teams, json"),
        (
            {"NOTIFY_COORDINATORS": "Pérez, Ana <ana@x.org>"},
            "NOTIFY_COORDINATORS: 'Pérez' no es un correo electrónico (un nombre con coma va",
        ),
    ],
)
def test_a_malformed_setting_is_worded_in_spanish(spanish, env, expected):
    with pytest.raises(ConfigError) as refused:
        settings_from(env)
    assert worded(refused.value).startswith(expected), worded(refused.value)
    for secret in ("pw", "T0K3N"):
        assert secret not in worded(refused.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            b"MONGO_DB=se\xf1al\n",
            ".env, línea 1: no es texto UTF-8 (byte 0xf1); guárdalo como UTF-8",
        ),
        (b"mongodb://h/teamdb\n", ".env, línea 1: no es NOMBRE=valor (el nombre, un signo"),
        (b"MONGO_DB='teamdb\n", ".env, línea 1: no se puede leer MONGO_DB (¿una comilla sin"),
        (b"A=1\nA=2\n", ".env, línea 2: A se define otra vez (primero en la línea 1); deja"),
    ],
)
def test_a_malformed_env_file_is_worded_in_spanish(spanish, tmp_path, text, expected):
    (tmp_path / ".env").write_bytes(text)
    with pytest.raises(ConfigError) as refused:
        read_env_file(tmp_path / ".env")
    assert worded(refused.value).replace(str(tmp_path / ".env"), ".env").startswith(expected)


def test_the_command_line_keeps_the_english(spanish):
    with pytest.raises(ConfigError) as refused:
        settings_from({"LANGUAGE": "es", "AUTO_SYNC_MINUTES": "cada hora"})
    assert str(refused.value) == "AUTO_SYNC_MINUTES='cada hora' is not a whole number"
