"""Panels that also take the user's own picture (chapters 2 and 3): the upload pair's lifecycle."""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from .base import Panel

log = logging.getLogger(__name__)


class UploadPanel(Panel):
    """A panel that also accepts the user's own picture: ``upload`` and ``use_upload``
    (``advlab.widgets.controls.upload_controls``, made by the subclass); cache keys of
    the uploaded picture start with ``"upload"``."""

    _upload = None
    use_upload: Any  # the checkbox made by the subclass's controls()

    def set_image(self, source) -> None:
        """Use your own picture (path, bytes, PIL image or array): centre-cropped, resized.
        A file that is no picture, empty, truncated or too large to open safely (over
        ``advlab.data.MAX_IMAGE_PIXELS``) leaves a message instead (:func:`advlab.data.load_image`)."""
        from .. import data
        try:  # load_image refuses what is no picture, empty, truncated or too large with a ValueError
            x = data.load_image(source, size=self.images.shape[-1], channels=self.images.shape[1])
        except Exception as err:  # whatever the file holds, the panel edge shows it as a message
            if not isinstance(err, ValueError):
                log.exception("reading an uploaded image failed")
            self.show_error(err)
            return
        self._upload = x
        self._cache = OrderedDict((k, v) for k, v in self._cache.items() if k[0] != "upload")
        if self.use_upload.value:
            self.update()
        else:
            self.use_upload.value = True
