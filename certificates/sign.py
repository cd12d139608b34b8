"""Signing certificates as PAdES with pyHanko, and checking signed files.

The key is loaded once per `Signer` (parsing a PKCS#12 file and its RSA key costs more than the
signature itself); its password comes from the caller (the environment), never the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import get_pyca_cryptography_hash, load_cert_from_pemder
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

DEVELOPMENT_MARK = "Hocvu development signing certificate"


def _outside_event_loop(function, *args, **kwargs):
    """Call `function` (which runs asyncio.run inside pyHanko) even when this thread already
    runs an event loop (an async host, or a test tool): then in a short-lived thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


_thread_loops = threading.local()


def _on_thread_loop(coroutine):
    """Run `coroutine` on this thread's own event loop, kept from one call to the next.

    pyHanko's synchronous `sign_pdf` calls `asyncio.run`, which makes and closes an event loop
    for every signature: about 0.25 ms, a twentieth of a certificate. Only for work that opens
    no network session (a session stays bound to the loop that opened it); the caller checks
    that no loop runs on this thread.
    """
    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread_loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coroutine)


class SigningError(Exception):
    """The signing key cannot be loaded, or a file cannot be signed."""


@dataclass(frozen=True)
class SignatureCheck:
    """What checking a signed PDF found."""

    signed: bool
    intact: bool = False  # the signed bytes were not changed
    trusted: bool = False  # signed by our certificate
    covers_whole_file: bool = False  # nothing was appended after the signature
    signer: str = ""

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted and self.covers_whole_file


class _CachedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner re-parses (and re-validates) the private key for every
    signature, which costs more than the RSA operation; this one parses it once."""

    def __init__(self, base: signers.SimpleSigner) -> None:
        super().__init__(
            signing_cert=base.signing_cert,
            signing_key=base.signing_key,
            cert_registry=base.cert_registry,
            signature_mechanism=base.signature_mechanism,
        )
        self._key = serialization.load_der_private_key(base.signing_key.dump(), password=None)
        self._templates: dict = {}

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run=False,
        use_pades=False,
        timestamper=None,
        signed_attr_settings=None,
        is_pdf_sig=True,
        encap_content_info=None,
    ):
        """The CMS container, from a template made once per signer.

        Building the container with asn1crypto costs about 45 ms; for a PAdES signature without
        a timestamp only the message digest (and the signing time, when present) change from
        one document to the next, so the first container is kept as a template and later ones
        are the template with those bytes and the new RSA signature put in place.
        """
        simple = (
            not dry_run
            and timestamper is None
            and encap_content_info is None
            and is_pdf_sig
            and digest_algorithm == "sha256"
            and len(data_digest) == 32
        )
        if not simple:
            return await super().async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry_run,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )
        key = (
            use_pades,
            signed_attr_settings is not None
            and getattr(signed_attr_settings, "signing_time", None) is not None,
        )
        template = self._templates.get(key)
        if template is None:
            real = await super().async_sign(
                data_digest,
                digest_algorithm,
                use_pades=use_pades,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
            )
            template = _Template.build(real, data_digest)
            if template is None:  # an unexpected shape: do it the slow way every time
                return real
            self._templates[key] = template
            return real
        signing_time = getattr(signed_attr_settings, "signing_time", None)
        return template.fill(data_digest, signing_time, self._sign_attrs)

    def _sign_attrs(self, attrs: bytes) -> bytes:
        return self.sign_raw(attrs, "sha256")

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), hash_algorithm)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)


@dataclass
class _Template:
    """A CMS container with the offsets of the bytes that change between signatures."""

    der: bytes
    digest_at: int
    attrs_at: int
    attrs_len: int
    signature_at: int
    signature_len: int
    time_at: int | None
    time_der: bytes | None

    @classmethod
    def build(cls, content_info, digest: bytes) -> _Template | None:
        der = content_info.dump()
        signer_info = content_info["content"]["signer_infos"][0]
        attrs = signer_info["signed_attrs"].dump()
        signature = signer_info["signature"].native
        time_der = None
        for attribute in signer_info["signed_attrs"]:
            if attribute["type"].native == "signing_time":
                time_der = attribute["values"][0].chosen.dump()
        if der.count(digest) != 1 or der.count(attrs) != 1 or der.count(signature) != 1:
            return None
        time_at = der.find(time_der) if time_der else None
        return cls(
            der,
            der.find(digest),
            der.find(attrs),
            len(attrs),
            der.find(signature),
            len(signature),
            time_at,
            time_der,
        )

    def fill(self, digest: bytes, signing_time, sign) -> object:
        from asn1crypto import cms, core

        out = bytearray(self.der)
        out[self.digest_at : self.digest_at + 32] = digest
        if self.time_der is not None and signing_time is not None:
            kind = core.UTCTime if self.time_der[0] == 0x17 else core.GeneralizedTime
            new_time = kind(signing_time.astimezone(dt.UTC)).dump()
            if len(new_time) != len(self.time_der):
                raise SigningError("the signing time does not fit the template")
            out[self.time_at : self.time_at + len(new_time)] = new_time
        attrs = bytes(out[self.attrs_at : self.attrs_at + self.attrs_len])
        # Signed attributes are signed as a SET OF (tag 0x31), stored as [0] IMPLICIT.
        signature = sign(b"\x31" + attrs[1:])
        if len(signature) != self.signature_len:
            raise SigningError("the signature does not fit the template")
        out[self.signature_at : self.signature_at + self.signature_len] = signature
        return cms.ContentInfo.load(bytes(out))


# Room for the CMS signature container: a 4096-bit RSA signature with its certificate chain and
# an RFC 3161 timestamp fit well inside. Giving it saves pyHanko a full dry-run signature.
SIGNATURE_BYTES = 16 * 1024


class Signer:
    """Signs PDFs with one key and certificate (PKCS#12, or PEM key + PEM certificate)."""

    def __init__(
        self,
        key_path: str | Path,
        password: str | None = None,
        cert_path: str | Path | None = None,
        tsa_url: str | None = None,
        reason: str = "Giấy chứng nhận hoàn thành khóa học",
        location: str = "",
    ) -> None:
        secret = password.encode() if password else None
        try:
            if cert_path:
                self._signer = signers.SimpleSigner.load(
                    str(key_path), str(cert_path), key_passphrase=secret
                )
            else:
                self._signer = signers.SimpleSigner.load_pkcs12(str(key_path), passphrase=secret)
        except (OSError, ValueError) as error:
            raise SigningError(f"cannot load the signing key {key_path}: {error}") from error
        if self._signer is None:
            raise SigningError(f"cannot load the signing key {key_path} (wrong password?)")
        self._signer = _CachedKeySigner(self._signer)
        self.certificate: asn1_x509.Certificate = self._signer.signing_cert
        self._timestamper = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
        self._meta = signers.PdfSignatureMetadata(
            field_name="HocvuSignature",
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location=location or None,
        )
        self._pdf_signer = signers.PdfSigner(
            self._meta, signer=self._signer, timestamper=self._timestamper
        )

    @property
    def development(self) -> bool:
        """True for the self-signed certificate `hocvu init` makes for trials."""
        return DEVELOPMENT_MARK in self.certificate.subject.human_friendly

    def sign(self, pdf: bytes) -> bytes:
        """The PDF with an invisible PAdES signature over the whole file."""
        output = io.BytesIO()
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        try:
            asyncio.get_running_loop()
            running = True
        except RuntimeError:
            running = False
        if self._timestamper is None and not running:
            _on_thread_loop(
                self._pdf_signer.async_sign_pdf(
                    writer, output=output, bytes_reserved=SIGNATURE_BYTES
                )
            )
        else:  # the timestamper's HTTP session lives and dies with pyHanko's own loop
            _outside_event_loop(
                self._pdf_signer.sign_pdf,
                writer,
                output=output,
                bytes_reserved=SIGNATURE_BYTES,
            )
        return output.getvalue()

    def check(self, pdf: bytes) -> SignatureCheck:
        """Check a PDF's signature against this signer's certificate."""
        return check_signature(pdf, self.certificate)


def check_signature(pdf: bytes, certificate: asn1_x509.Certificate) -> SignatureCheck:
    """Is `pdf` signed by `certificate`, unaltered, with nothing added after signing?"""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - a broken upload is simply "not signed"
        return SignatureCheck(signed=False)
    if not signatures:
        return SignatureCheck(signed=False)
    signature = signatures[0]
    try:
        status = _outside_event_loop(
            validate_pdf_signature,
            signature,
            ValidationContext(trust_roots=[certificate], allow_fetching=False),
        )
    except Exception:  # noqa: BLE001 - a mangled signature is not valid
        return SignatureCheck(signed=True)
    return SignatureCheck(
        signed=True,
        intact=bool(status.intact),
        trusted=bool(status.valid and status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=status.signing_cert.subject.human_friendly if status.signing_cert else "",
    )


def make_development_key(path: Path, organisation: str) -> None:
    """Create a self-signed signing certificate for trials (PKCS#12 without password, 0600)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{DEVELOPMENT_MARK} (not valid)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "Hocvu"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"hocvu-development", key, cert, None, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_certificate(path: str | Path) -> asn1_x509.Certificate:
    """A PEM or DER certificate file (for checking signatures without the key)."""
    return load_cert_from_pemder(str(path))
