"""The organisation profile that certificates print: the issuing organisation (and a unit's
own), the place of the date line, the signatory, a seal or signature image and the prefix of
certificate numbers. A site admin sets it once; until then the HOCVU_CERT_* settings stand in.

An uploaded image is hostile until proven otherwise: it must decode completely as a PNG or
JPEG of a sane size and shape, and what is stored is a new PNG drawn from its pixels (no
metadata, no trailing bytes, at most SEAL_STORED_SIDE pixels a side, so that every certificate
embedding it stays small).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.app.config import MAX_SERIAL_PREFIX, SERIAL_PREFIX_RE
from lms.app.storage import LocalStorage, StorageError
from lms.models import PROFILE_ID, OrganisationProfile, OrgUnit, User
from lms.services import audit
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.text import clean_text

MAX_ORGANISATION = 200
MAX_PLACE = 100
MAX_SIGNER = 120
SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MIN_SIDE = 100  # pixels: smaller prints as a blur
SEAL_MAX_SIDE = 4000
# A round seal is square; a signature is wide. Anything further from square is a mistake
# (a banner, a page scan) that would print as a sliver.
SEAL_MAX_WIDE = 4  # width / height
SEAL_MAX_TALL = 2  # height / width
SEAL_STORED_SIDE = 500


@dataclass(frozen=True)
class Profile:
    """What certificates print about their issuer, as the site uses it now."""

    organisation: str
    place: str
    signer_title: str
    signer_name: str = ""
    serial_prefix: str = ""
    seal: Path | None = None  # the image file (PNG or JPEG) printed by the signature
    saved: bool = False  # False while it comes from the settings (never saved on the page)


def stored(session: Session) -> OrganisationProfile | None:
    """The saved profile, or None while the site has not saved one."""
    return session.get(OrganisationProfile, PROFILE_ID)


def current(session: Session, defaults: Profile, storage: LocalStorage) -> Profile:
    """The saved profile, or `defaults` (from the settings) while none is saved."""
    row = stored(session)
    if row is None:
        return defaults
    return Profile(
        organisation=row.organisation,
        place=row.place,
        signer_title=row.signer_title,
        signer_name=row.signer_name,
        serial_prefix=row.serial_prefix,
        # Where the image is, whether or not it is there: a lost file fails the issuing (and
        # shows on the organisation page) instead of certificates printed without it.
        seal=storage.root.joinpath(*PurePosixPath(row.seal_path).parts) if row.seal_path else None,
        saved=True,
    )


def issuer_for(session: Session, unit: OrgUnit | None) -> str | None:
    """The issuing organisation of the nearest unit at or above `unit` that names one."""
    if unit is None or not unit.path:
        return None
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    return session.scalar(
        select(OrgUnit.certificate_issuer)
        .where(OrgUnit.id.in_(ids), OrgUnit.certificate_issuer.is_not(None))
        .order_by(OrgUnit.depth.desc())
        .limit(1)
    )


def _required(raw: str | None, longest: int, field: str, missing: str, too_long: str) -> str:
    text = clean_text(raw)
    if not text:
        raise DomainError(missing, field=field)
    if len(text) > longest:
        raise DomainError(too_long, field=field, max=longest)
    return text


def clean_prefix(raw: str | None) -> str:
    """A certificate number prefix in capitals ("" for none), or DomainError."""
    prefix = clean_text(raw).upper()
    if prefix and (len(prefix) > MAX_SERIAL_PREFIX or not SERIAL_PREFIX_RE.match(prefix)):
        raise DomainError(
            N_(
                "Write the prefix with at most %(max)d letters A to Z (without diacritics), "
                "digits and dashes between them, for example QN or LDLD-QN."
            ),
            field="serial_prefix",
            max=MAX_SERIAL_PREFIX,
        )
    return prefix


def check_seal(data: bytes) -> bytes:
    """The seal or signature image drawn again as a small PNG, or DomainError (field "seal")
    saying what is wrong with the upload."""
    if len(data) > SEAL_MAX_BYTES:
        raise DomainError(
            N_("The image is larger than %(size)d MB; send a smaller one."),
            field="seal",
            size=SEAL_MAX_BYTES // (1024 * 1024),
        )
    try:
        # formats=: only the PNG and JPEG decoders ever see the bytes.
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
            width, height = image.size  # from the header: nothing decoded yet
            _check_shape(width, height)
            image.load()  # decode it all: a truncated or corrupt file fails here
            upright = ImageOps.exif_transpose(image)
            has_alpha = "A" in upright.getbands() or "transparency" in upright.info
            clean = upright.convert("RGBA" if has_alpha else "RGB")
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DomainError(N_("The file is not a PNG or JPEG image."), field="seal") from None
    clean.thumbnail((SEAL_STORED_SIDE, SEAL_STORED_SIDE), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    clean.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _check_shape(width: int, height: int) -> None:
    if not (SEAL_MIN_SIDE <= width <= SEAL_MAX_SIDE and SEAL_MIN_SIDE <= height <= SEAL_MAX_SIDE):
        raise DomainError(
            N_(
                "The image is %(width)d × %(height)d pixels; each side must be between "
                "%(min)d and %(max)d pixels."
            ),
            field="seal",
            width=width,
            height=height,
            min=SEAL_MIN_SIDE,
            max=SEAL_MAX_SIDE,
        )
    if width > SEAL_MAX_WIDE * height or height > SEAL_MAX_TALL * width:
        raise DomainError(
            N_(
                "The image is %(width)d × %(height)d pixels: a seal or a signature is at most "
                "four times as wide as it is tall, and at most twice as tall as it is wide."
            ),
            field="seal",
            width=width,
            height=height,
        )


def seal_key(png: bytes) -> str:
    """Where a seal image is kept under HOCVU_FILES_DIR (named by its content)."""
    return f"organisation/seal-{hashlib.sha256(png).hexdigest()[:20]}.png"


def _row(session: Session, first: Profile) -> OrganisationProfile:
    """The profile's row, created from `first` when there is none."""
    row = stored(session)
    if row is not None:
        return row
    row = OrganisationProfile(
        id=PROFILE_ID,
        organisation=first.organisation,
        place=first.place,
        signer_title=first.signer_title,
        signer_name=first.signer_name,
        serial_prefix=first.serial_prefix,
    )
    try:
        with session.begin_nested():  # two admins saving the first profile at once
            session.add(row)
            session.flush()
    except IntegrityError:
        return stored(session)
    return row


def save(
    session: Session,
    actor: User,
    storage: LocalStorage,
    defaults: Profile,
    *,
    organisation: str | None,
    place: str | None,
    signer_title: str | None,
    signer_name: str | None,
    serial_prefix: str | None,
    seal: bytes | None = None,
    remove_seal: bool = False,
) -> OrganisationProfile:
    """Check and save the profile (a site admin only); `seal` is an uploaded image. The first
    save keeps the settings' seal image unless told to remove it. Certificates already issued
    keep what they printed."""
    if actor is None or not actor.is_site_admin:
        raise Forbidden(N_("Only a site administrator can change the organisation profile."))
    wanted = Profile(
        organisation=_required(
            organisation,
            MAX_ORGANISATION,
            "organisation",
            N_("Enter the name of the organisation that issues the certificates."),
            N_("The organisation's name is too long (at most %(max)d characters)."),
        ),
        place=_required(
            place,
            MAX_PLACE,
            "place",
            N_("Enter the place name of the date line, for example Quảng Ninh."),
            N_("The place name is too long (at most %(max)d characters)."),
        ),
        signer_title=_required(
            signer_title,
            MAX_SIGNER,
            "signer_title",
            N_("Enter the signatory's title, for example Chủ tịch."),
            N_("The signatory's title is too long (at most %(max)d characters)."),
        ),
        signer_name=clean_text(signer_name),
        serial_prefix=clean_prefix(serial_prefix),
    )
    if len(wanted.signer_name) > MAX_SIGNER:
        raise DomainError(
            N_("The signatory's name is too long (at most %(max)d characters)."),
            field="signer_name",
            max=MAX_SIGNER,
        )
    first = stored(session) is None
    if seal is None and first and defaults.seal is not None and not remove_seal:
        try:  # the settings' image, so that the first save does not drop it
            seal = defaults.seal.read_bytes()
        except OSError:
            seal = None
    png = check_seal(seal) if seal is not None else None
    row = _row(session, wanted)
    before = _values(row)
    if png is not None:
        key = seal_key(png)
        storage.write_file(key, png)
        row.seal_path = key
    elif remove_seal:
        row.seal_path = None
    row.organisation, row.place = wanted.organisation, wanted.place
    row.signer_title, row.signer_name = wanted.signer_title, wanted.signer_name
    row.serial_prefix = wanted.serial_prefix
    session.flush()
    after = _values(row)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k] or first}
    if changes:
        audit.record(session, actor, "organisation.update", row, **changes)
    return row


def _values(row: OrganisationProfile) -> dict[str, str | bool]:
    return {
        "organisation": row.organisation,
        "place": row.place,
        "signer_title": row.signer_title,
        "signer_name": row.signer_name,
        "serial_prefix": row.serial_prefix,
        "seal": bool(row.seal_path),
    }


def forget_seal(storage: LocalStorage, key: str | None) -> None:
    """Delete a seal image no longer used (after the change is committed)."""
    if not key:
        return
    with contextlib.suppress(StorageError, OSError):  # already gone: nothing to tidy
        storage.local_path(key).unlink(missing_ok=True)


def set_unit_issuer(session: Session, actor: User, unit: OrgUnit, raw: str | None) -> None:
    """Set (or clear, with an empty value) the issuing organisation a unit prints on the
    certificates of its subtree's learners; a site admin only."""
    if actor is None or not actor.is_site_admin:
        raise Forbidden(N_("Only a site administrator can change the organisation profile."))
    name = clean_text(raw) or None
    if name is not None and len(name) > MAX_ORGANISATION:
        raise DomainError(
            N_("The organisation's name is too long (at most %(max)d characters)."),
            field="certificate_issuer",
            max=MAX_ORGANISATION,
        )
    if name == unit.certificate_issuer:
        return
    before, unit.certificate_issuer = unit.certificate_issuer, name
    session.flush()
    audit.record(session, actor, "unit.issuer", unit, certificate_issuer=[before, name])
