"""A software WebAuthn authenticator (ES256, "none" attestation) for the passkey tests.

It answers the server's options as a browser with a security key would: client data
JSON, authenticator data with the relying party's hash, flags and signature counter,
and an ECDSA signature over both.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url as b64

PRESENT, VERIFIED, ATTESTED = 0x01, 0x04, 0x40


class SoftAuthenticator:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.count = 0

    def clone(self) -> SoftAuthenticator:
        return copy.deepcopy(self)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})  # fmt: skip

    def create(self, options: dict[str, Any], origin: str) -> dict[str, Any]:
        client_data = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                                  "origin": origin, "crossOrigin": False}).encode()  # fmt: skip
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([PRESENT | VERIFIED | ATTESTED])
            + struct.pack(">I", self.count)
            + bytes(16)  # AAGUID
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data),
                         "attestationObject": b64(attestation)},
            "clientExtensionResults": {},
        }  # fmt: skip

    def get(self, options: dict[str, Any], origin: str) -> dict[str, Any]:
        self.count += 1
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                                  "origin": origin, "crossOrigin": False}).encode()  # fmt: skip
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([PRESENT | VERIFIED])
            + struct.pack(">I", self.count)
        )
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                         "signature": b64(signature), "userHandle": None},
            "clientExtensionResults": {},
        }  # fmt: skip
