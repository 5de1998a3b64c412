"""Print a new VAPID private key for WEB_PUSH_VAPID_PRIVATE_KEY: ``python -m opsplatform.devtools.vapid``."""

import base64

from cryptography.hazmat.primitives.asymmetric import ec

if __name__ == "__main__":
    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    print(base64.urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("="))
