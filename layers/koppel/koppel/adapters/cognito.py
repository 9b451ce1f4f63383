"""Signing a console user in with Cognito's InitiateAuth (USER_PASSWORD_AUTH) on the console's app client.

InitiateAuth is one of Cognito's public operations: it takes no AWS signature and no IAM permission, so the client
is unsigned and the function's role grants nothing for it. Cognito answers a wrong password and an unknown user
alike (the app client prevents user-existence errors), and so does this adapter.
"""

from __future__ import annotations

from typing import Any

from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from koppel.errors import AuthError, InputError, RetryableError
from koppel.ports import SignedIn

_REFUSED = {"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException"}
_BUSY = {"TooManyRequestsException", "LimitExceededException", "InternalErrorException"}


class CognitoSignIn:
    def __init__(self, client_id: str, endpoint_url: str | None) -> None:
        self._client_id = client_id
        self._endpoint_url = endpoint_url
        self._cognito: Any = None

    def sign_in(self, username: str, password: str) -> SignedIn:
        try:
            answer = self._client().initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _REFUSED:
                raise AuthError("wrong username or password: try again, or ask your operator to reset it") from None
            if code == "PasswordResetRequiredException":
                raise AuthError("your password must be reset: ask your operator for a new one") from None
            if code in _BUSY:
                raise RetryableError("sign-in is busy: try again in a moment", retry_after=5) from None
            raise
        if "AuthenticationResult" not in answer:
            challenge = answer.get("ChallengeName", "")
            raise InputError(
                f"sign-in needs {challenge or 'another step'}: your operator must set a permanent password first",
                status=403,
            )
        result = answer["AuthenticationResult"]
        return SignedIn(id_token=result["IdToken"], expires_in=int(result.get("ExpiresIn", 3600)))

    def _client(self) -> Any:
        if self._cognito is None:
            import boto3

            self._cognito = boto3.client(
                "cognito-idp", endpoint_url=self._endpoint_url, config=Config(signature_version=UNSIGNED)
            )
        return self._cognito
