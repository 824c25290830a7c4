"""Named errors: segcore raises these, the app and the command line turn them into messages.

A message may be a template with named parameters, marked with `N_` for the interface's
catalog: `ValidationError(N_("'{value}' is not on the team."), value=name, field="assignee")`.
`str(exc)` is the English text with the values filled in (the command line prints it); the app
translates the template and fills it in (`ui.app.actions.describe_error`).
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Mark `text` for the interface's catalog (extracted by Babel); returns it unchanged."""
    return text


def shortened(text: str, limit: int) -> str:
    """`text` of at most `limit` characters: a longer one cut after its last whole word, with
    an ellipsis (a reason cut mid-word, "Use force=True to fo", reads as a broken message)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-(") + "…"


class SegcoreError(Exception):
    """Base class for every error segcore reports to a user.

    `template` is the message as written, `params` the values it names; with no params the
    message is plain text (no braces are interpreted).
    """

    def __init__(self, message: str = "", **params: object):
        self.template, self.params = message, params
        super().__init__(message.format(**params) if params else message)


class ConfigError(SegcoreError):
    """A setting is missing or malformed; the message names it."""


class DatabaseUnavailable(SegcoreError):
    """The database server cannot be reached or refused the connection."""


class EmbeddedServerError(SegcoreError):
    """The embedded database server could not be started or reached."""


class ValidationError(SegcoreError):
    """User input was refused; `field` names the input that caused it."""

    def __init__(self, message: str, field: str | None = None, **params: object):
        super().__init__(message, **params)
        self.field = field


class DuplicateMember(ValidationError):
    """A segmentador with the same normalised name already exists."""


class NameWouldPass(ValidationError):
    """Removing the first of legacy duplicates would credit the batches they keep to the other
    one (same name): nothing was done."""


class MemberChanged(ValidationError):
    """A member's field was changed by someone else since the user saw it: nothing was written.
    `now` is the value stored now (as stored); the message names it and the value typed."""

    def __init__(self, message: str, field: str, stored: object, **params: object):
        super().__init__(message, field=field, **params)
        self.now = stored


class MemberNotFound(SegcoreError):
    """No segmentador has that name."""


class AmbiguousMember(SegcoreError):
    """A typed name could be any of several legacy duplicate members: nothing was done."""


class BatchNotFound(SegcoreError):
    """No batch has that id."""


class ImportFileError(SegcoreError):
    """A batches file is unreadable or malformed; the message says where."""


class DemoRefused(SegcoreError):
    """Demo data would mix with real data, so it was not loaded."""


class DemoIncomplete(SegcoreError):
    """A demo load is under way, or was interrupted and has not been finished."""


class PermissionDenied(SegcoreError):
    """The current user's role does not allow this change."""


class SyncAlreadyRunning(SegcoreError):
    """Another sync holds the lock; this one did not start."""

    def __init__(self, message: str, live: bool = False, restore: bool = False, **params: object):
        super().__init__(message, **params)
        self.live = live  # the holder is a live sync (`sync --watch`)
        self.restore = restore  # the holder is a restore, not a sync


class LeaseLost(SegcoreError):
    """The lease ran out or another holder took it: what its holder did since may be undone by
    someone else, so it stops."""


class ServerRestarted(SegcoreError):
    """The database server restarted (or another became primary) during a sync: writes it had
    confirmed may be lost, so the run's results are not trusted."""


class WriteStalled(SegcoreError):
    """A write waited longer than its bound (`store.write_wait`), most likely on documents a
    killed command's open transaction still holds."""


class LoginFailed(SegcoreError):
    """The user name or the password is wrong (deliberately not saying which)."""


class AccountLocked(SegcoreError):
    """Too many failed logins in a row; the account is locked for a while."""


class UnreadableUpload(SegcoreError):
    """An upload's contents cannot be listed (corrupt, encrypted, truncated, unsupported, too
    large); the message says why. A mask check records it and goes on."""


class DamagedUpload(UnreadableUpload):
    """An upload's stored chunks do not hold its bytes (missing, short, too many, no valid
    length): nothing read from them could say more about its format."""


class UploadTooLarge(UnreadableUpload):
    """An upload beyond what a check reads (its budget, its member count): it is not judged
    by its format at all."""


class FolderUnreadable(SegcoreError):
    """A batch's image folder cannot be read (not mounted, missing, no permission)."""


class BackupFileError(SegcoreError):
    """A backup file cannot be written, or is damaged, truncated or not a backup."""


class RestoreRefused(SegcoreError):
    """A restore would mix a backup with data already in the database."""


class RestoreFailed(SegcoreError):
    """A checked backup could not be written into the database; the data was left as it was."""


class RestoreIncomplete(SegcoreError):
    """A restore was interrupted (killed, or the server went away) and has not been redone."""


class DeliveryFailed(SegcoreError):
    """A mail or webhook server refused a message, timed out or could not be reached; the
    message holds the server's answer (never a credential)."""

    def __init__(self, message: str, unreachable: bool = False, **params: object):
        super().__init__(message, **params)
        self.unreachable = unreachable  # the server did not answer: later messages would wait
