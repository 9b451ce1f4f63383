"""Signing a console user in with Cognito's InitiateAuth (USER_PASSWORD_AUTH) on the console's app client.

A person an operator has just added holds a temporary password: Cognito answers it with the NEW_PASSWORD_REQUIRED
challenge and a session of a few minutes, which RespondToAuthChallenge trades, with the person's own password, for
their tokens. So no operator knows the password a person signs in with from then on.

InitiateAuth and RespondToAuthChallenge are Cognito's public operations: they take no AWS signature and no IAM
permission, so the client is unsigned and the function's role grants nothing for them. Cognito answers a wrong
password and an unknown user alike (the app client prevents user-existence errors), and so does this adapter.
"""

from __future__ import annotations

from typing import Any

from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from koppel.errors import AuthError, InputError, RetryableError
from koppel.ports import PasswordToChoose, SignedIn

_REFUSED = {"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException"}
_BUSY = {"TooManyRequestsException", "LimitExceededException", "InternalErrorException"}
_SESSION_OVER = {
    "NotAuthorizedException", "ResourceNotFoundException", "ExpiredCodeException", "CodeMismatchException",
    "UserNotFoundException",
}  # fmt: skip
"""How Cognito (NotAuthorized: "Invalid session for the user, session is expired") and moto (ResourceNotFound)
answer a session that ran out or never was, or a username other than the session's."""
PASSWORD_RULES = "at least 12 characters, with a lower-case letter, a capital and a digit"
"""The user pool's PasswordPolicy (infra/template.yaml), in words a person reads before choosing."""


class CognitoSignIn:
    def __init__(self, client_id: str, endpoint_url: str | None) -> None:
        self._client_id = client_id
        self._endpoint_url = endpoint_url
        self._cognito: Any = None

    def sign_in(self, username: str, password: str) -> SignedIn | PasswordToChoose:
        try:
            answer = self._client().initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as error:
            code = _code(error)
            if code in _REFUSED:
                raise AuthError("wrong username or password: try again, or ask your operator to reset it") from None
            if code == "PasswordResetRequiredException":
                raise AuthError("your password must be reset: ask your operator for a new one") from None
            _raise_if_busy(code)
            raise
        if answer.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            return PasswordToChoose(session=answer["Session"], rules=PASSWORD_RULES)
        return _signed_in(answer)

    def choose_password(self, username: str, session: str, new_password: str) -> SignedIn:
        try:
            answer = self._client().respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=session,
                ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_password},
            )
        except ClientError as error:
            code = _code(error)
            if code == "InvalidPasswordException":
                raise InputError(f"choose another password: {PASSWORD_RULES}", status=400) from None
            if code in _SESSION_OVER:
                raise AuthError(
                    "this first sign-in has run out (it lasts a few minutes): log in again with the password "
                    "your operator gave you"
                ) from None
            _raise_if_busy(code)
            raise
        return _signed_in(answer)

    def _client(self) -> Any:
        if self._cognito is None:
            import boto3

            self._cognito = boto3.client(
                "cognito-idp", endpoint_url=self._endpoint_url, config=Config(signature_version=UNSIGNED)
            )
        return self._cognito


def _signed_in(answer: dict[str, Any]) -> SignedIn:
    if "AuthenticationResult" not in answer:  # MFA or another step the console does not offer
        challenge = answer.get("ChallengeName", "")
        raise InputError(
            f"sign-in needs {challenge or 'another step'}, which the console does not offer: ask your operator",
            status=403,
        )
    result = answer["AuthenticationResult"]
    return SignedIn(id_token=result["IdToken"], expires_in=int(result.get("ExpiresIn", 3600)))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _raise_if_busy(code: str) -> None:
    if code in _BUSY:
        raise RetryableError("sign-in is busy: try again in a moment", retry_after=5) from None
