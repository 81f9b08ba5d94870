"""A story's photo: any common image in, a plain JPEG out.

Pillow decodes the upload (refusing what is not an image, and images so large that decoding them would
exhaust memory), and the photo is re-encoded as a JPEG of at most 1600 pixels a side. Re-encoding drops
every piece of metadata a camera or phone writes, the GPS position of where it was taken first among them,
and whatever else a crafted file might carry.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from diaspora.platform.core.errors import ValidationError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1600
MAX_PIXELS = 40_000_000  # beyond this an upload is a decompression bomb, not a photo
ACCEPTED = {"JPEG", "PNG", "WEBP"}


def clean_photo(raw: bytes) -> bytes:
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"A photo is at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", field="photo")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in ACCEPTED:
                raise ValidationError("Upload a JPEG, PNG or WebP photo.", field="photo")
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError("This image is too large to be a photo.", field="photo")
            upright = ImageOps.exif_transpose(image)  # as the camera held it, before its metadata goes
            upright = upright.convert("RGB")
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            upright.save(out, format="JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError("This file is not a photo that can be read.", field="photo") from exc
    return out.getvalue()
