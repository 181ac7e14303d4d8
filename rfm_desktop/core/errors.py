"""Every failure an analyst can meet, as an exception with a message written for them.

The CLI prints ``str(error)`` as one line; the GUI shows it in a dialog together with
``error.hint`` (what to do about it).
"""

from __future__ import annotations


class RFMError(Exception):
    """Base of all expected, user-facing errors."""

    hint = "Check the input file and the chosen options, then try again."

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        """The analyst-readable message (the first argument), without the hint."""
        return str(self.args[0]) if self.args else ""


class InputFileError(RFMError):
    """The file cannot be opened or read (missing, empty, corrupt, encrypted, wrong format)."""

    hint = "Export the data again from the shop system as .xlsx or .csv and open that file."


class SheetError(RFMError):
    """The requested sheet does not exist or is empty."""

    hint = "Pick one of the sheets listed in the file."


class MappingError(RFMError):
    """Required columns are missing or the column mapping is invalid."""

    hint = "Map each required field (customer id, invoice date, and quantity + unit price or amount) to a column."


class DataError(RFMError):
    """The values in the file cannot be used (no dates, no numbers, nothing left after cleaning)."""

    hint = "Look at the named column in the file, fix or remove the bad values, or change the cleaning options."


class ParamsError(RFMError):
    """The analysis options are inconsistent with each other or with the data."""

    hint = "Change the analysis options (K, features, snapshot date) and run again."


class ExportError(RFMError):
    """An export cannot be written where it was asked."""

    hint = "Choose another output folder or file name."


class Cancelled(RFMError):
    """The user cancelled the run; nothing was written.

    Raised without a message it says so (:data:`RUN_CANCELLED`), wherever the run stopped.
    """

    hint = "Run again when ready."

    def __init__(self, message: str | None = None, hint: str | None = None):
        super().__init__(RUN_CANCELLED if message is None else message, hint)


#: what a cancelled run says, whichever stage it stopped in
RUN_CANCELLED = "The run was cancelled; nothing was written."


class ModelError(RFMError):
    """A statistical model (customer lifetime value) cannot be fitted to the data."""

    hint = "Use a longer purchase history, or run without customer lifetime value."


class SegmentNameError(RFMError, ValueError):
    """A new segment name cannot be used (empty, taken, or the name of a named RFM segment).

    Also a ``ValueError``: it is a bad value, and callers that checked names with ``ValueError``
    keep working.
    """

    hint = "Choose another name for the segment."


class ImageError(ExportError, ValueError):
    """A view's picture cannot be saved as asked (format, nothing drawn yet, no OpenGL, too many
    points for SVG). Also a ``ValueError``, like :class:`SegmentNameError`."""

    hint = "Save the picture as PNG, or run the analysis first."
