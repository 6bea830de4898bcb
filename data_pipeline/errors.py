"""The one exception type for malformed or missing input data.

Every reader in `data_pipeline` reports bad input as a `DataFormatError` that names the file,
the 1-based line and the field, so a user can open the file at the right place.
"""

import os
import pathlib


class DataFormatError(ValueError):
    """Malformed, missing or unreadable input data.

    `str(err)` is `"{path}:{line}: {field}: {problem}"`; parts that are unknown are left out,
    e.g. `"ratings.dat:12: item: expected an integer, got 'abc'"` or `"u.data: file is empty"`.

    Attributes:
        path: the offending file or folder.
        line: 1-based line number, or None when the problem is not tied to one line.
        field: name of the offending field or column, or None.
        problem: what is wrong, in words.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        line: int | None,
        field: str | None,
        problem: str,
    ) -> None:
        self.path = pathlib.Path(path)
        self.line = line
        self.field = field
        self.problem = problem
        super().__init__(self._message())

    def _message(self) -> str:
        location = str(self.path)
        if self.line is not None:
            location = f"{location}:{self.line}"
        parts = [location]
        if self.field is not None:
            parts.append(self.field)
        parts.append(self.problem)
        return ": ".join(parts)

    def __reduce__(self):
        # Keep the exception picklable (grain worker processes pickle errors).
        return (type(self), (self.path, self.line, self.field, self.problem))
