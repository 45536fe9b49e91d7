"""Websockets held by API Gateway: a DynamoDB table of who listens, and the Management API.

API Gateway owns the sockets. A function hears of one only at $connect and
$disconnect, and reaches it only through `post_to_connection`, so the registry
is a table that every relay and fan-out invocation shares. The table's schema
is a contract with template.yaml (see /work/notes/relay-contract.md):

- a connection item: `connectionId` (hash key), `audience`, `userId`, `role`
  and `expiresAt`, the token's expiry in epoch seconds and the table's TTL;
- `audience` is the user's id, or `#operators` for every operator, and the
  `audience-index` GSI is keyed on it, so a fan-out queries its listeners
  instead of scanning. No user id holds `#`, so no user shares the operators'
  partition;
- a cap item per user, `#user#<id>` (API Gateway's ids hold no `#` either),
  listing that user's sockets and their expiries. A connect rewrites it on the
  condition that its `version` is unchanged, in one transaction with the
  connection item, so racing connects cannot overshoot `per_user_max`. It has
  no `audience`, so it is in no fan-out.

DynamoDB deletes expired items late, so an expired item is still returned
here with its expiry, and the relay hangs up on it rather than pushing to it.
`per_process_max` bounds the sockets one process holds; here no process holds
any, and API Gateway's own quota bounds the total.
"""

import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from wallet.domain.access import Principal, SocketLimits
from wallet.domain.errors import TooManyConnections, Unavailable
from wallet.service_layer.ports import Connections

AUDIENCE_INDEX = "audience-index"
OPERATORS_AUDIENCE = "#operators"
CAP_KEY_PREFIX = "#user#"
CAP_WRITE_ATTEMPTS_MAX = 8  # connects of one user that race for their cap item at once
QUERY_PAGES_MAX = 64  # pages (1 MB each) of one audience read per event
SCAN_PAGES_MAX = 256  # pages the expiry sweep reads; the next sweep goes on from the start
_FAILURES = (BotoCoreError, ClientError)

log = logging.getLogger("wallet.relay")

Item = Mapping[str, Mapping[str, Any]]  # DynamoDB's typed attribute values: {"S": "..."}


class ApiGatewayConnections(Connections):
    def __init__(self, table: str, dynamodb: Any, management: Any,
                 clock: Callable[[], float]) -> None:
        self._table, self._dynamodb, self._management = table, dynamodb, management
        self._clock = clock

    def add(self, connection_id: str, principal: Principal, limits: SocketLimits) -> None:
        expires_at = principal.expires_at_epoch_s
        assert expires_at is not None, "a socket's principal comes from a token, which expires"
        for _ in range(CAP_WRITE_ATTEMPTS_MAX):
            version, sockets = self._read_cap(principal.subject)
            now_s = self._clock()
            live = {c: e for c, e in sockets.items() if e > now_s and c != connection_id}
            if len(live) >= limits.per_user_max:
                raise TooManyConnections(f"you have {limits.per_user_max} websockets open "
                                         "already; close one first")
            if self._write(connection_id, principal, version, {**live, connection_id: expires_at}):
                return
        raise Unavailable("too many websockets of yours are connecting at once; retry")

    def remove(self, connection_id: str) -> None:
        try:
            old = self._dynamodb.delete_item(TableName=self._table, ReturnValues="ALL_OLD",
                                             Key={"connectionId": {"S": connection_id}})
        except _FAILURES as exc:
            raise Unavailable(f"the websocket registry is unavailable: {exc}") from exc
        user_id = old.get("Attributes", {}).get("userId", {}).get("S")
        if user_id is not None:
            self._release(user_id, connection_id)

    def audience(self, user_ids: Collection[str]) -> Iterator[tuple[str, Principal]]:
        for audience in [*sorted(set(user_ids)), OPERATORS_AUDIENCE]:
            for item in self._query(audience):
                yield item["connectionId"]["S"], _principal(item)

    def send(self, connection_id: str, text: str) -> bool:
        try:
            self._management.post_to_connection(ConnectionId=connection_id, Data=text.encode())
        except ClientError as exc:
            if _code(exc) == "GoneException":
                return False
            log.warning("websocket push failed; skipped", extra={"connection": connection_id,
                                                                  "error": _code(exc)})
        except BotoCoreError as exc:
            log.warning("websocket push failed; skipped", extra={"connection": connection_id,
                                                                  "error": repr(exc)})
        return True

    def expired(self, now_epoch_s: float) -> list[str]:
        expired: list[str] = []
        request = {"TableName": self._table, "ProjectionExpression": "#id",
                   "FilterExpression": "attribute_exists(#a) AND #e <= :now",
                   "ExpressionAttributeNames": {"#id": "connectionId", "#a": "audience",
                                                "#e": "expiresAt"},
                   "ExpressionAttributeValues": {":now": {"N": str(int(now_epoch_s))}}}
        for page in self._pages("scan", request, SCAN_PAGES_MAX):
            expired.extend(item["connectionId"]["S"] for item in page)
        return expired

    def hang_up(self, connection_id: str, code: int, reason: str) -> None:
        """API Gateway closes with no code of ours: the client sees the socket end, not why."""
        try:
            self._management.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if _code(exc) != "GoneException":
                log.warning("hang-up failed", extra={"connection": connection_id,
                                                     "error": _code(exc)})
        except BotoCoreError as exc:
            log.warning("hang-up failed", extra={"connection": connection_id,
                                                 "error": repr(exc)})

    def _read_cap(self, user_id: str) -> tuple[int, dict[str, int]]:
        try:
            item = self._dynamodb.get_item(TableName=self._table, ConsistentRead=True,
                                           Key={"connectionId": {"S": CAP_KEY_PREFIX + user_id}})
        except _FAILURES as exc:
            raise Unavailable(f"the websocket registry is unavailable: {exc}") from exc
        cap = item.get("Item")
        if cap is None:
            return 0, {}
        sockets = {c: int(e["N"]) for c, e in cap.get("sockets", {}).get("M", {}).items()}
        return int(cap["version"]["N"]), sockets

    def _write(self, connection_id: str, principal: Principal, version: int,
               sockets: Mapping[str, int]) -> bool:
        """One transaction: the cap item, if nobody changed it since we read it, and the socket.
        False when somebody did, so the caller reads it again."""
        assert principal.expires_at_epoch_s is not None
        cap_write = {"Put": {
            "TableName": self._table,
            "Item": {"connectionId": {"S": CAP_KEY_PREFIX + principal.subject},
                     "sockets": {"M": {c: {"N": str(e)} for c, e in sockets.items()}},
                     "version": {"N": str(version + 1)},
                     "expiresAt": {"N": str(max(sockets.values()))}},
            **_unchanged(version)}}
        socket_write = {"Put": {"TableName": self._table, "Item": {
            "connectionId": {"S": connection_id},
            "audience": {"S": OPERATORS_AUDIENCE if principal.is_operator else principal.subject},
            "userId": {"S": principal.subject}, "role": {"S": principal.role},
            "expiresAt": {"N": str(principal.expires_at_epoch_s)}}}}
        try:
            self._dynamodb.transact_write_items(TransactItems=[cap_write, socket_write])
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException" and _cap_changed(exc):
                return False
            raise Unavailable(f"the websocket registry is unavailable: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"the websocket registry is unavailable: {exc}") from exc
        return True

    def _release(self, user_id: str, connection_id: str) -> None:
        """Takes the socket off its owner's cap. The version moves too, so a connect that read
        the cap before this cannot write the socket back."""
        try:
            self._dynamodb.update_item(
                TableName=self._table, Key={"connectionId": {"S": CAP_KEY_PREFIX + user_id}},
                UpdateExpression="REMOVE #s.#c ADD #v :one",
                ConditionExpression="attribute_exists(#s)",
                ExpressionAttributeNames={"#s": "sockets", "#c": connection_id, "#v": "version"},
                ExpressionAttributeValues={":one": {"N": "1"}})
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":  # no cap item: nothing to free
                log.warning("cap not released; it frees itself when the token expires",
                            extra={"connection": connection_id, "error": _code(exc)})
        except BotoCoreError as exc:
            log.warning("cap not released; it frees itself when the token expires",
                        extra={"connection": connection_id, "error": repr(exc)})

    def _query(self, audience: str) -> Iterator[Item]:
        request = {"TableName": self._table, "IndexName": AUDIENCE_INDEX,
                   "KeyConditionExpression": "#a = :a",
                   "ExpressionAttributeNames": {"#a": "audience"},
                   "ExpressionAttributeValues": {":a": {"S": audience}}}
        for page in self._pages("query", request, QUERY_PAGES_MAX):
            yield from page

    def _pages(self, operation: str, request: Mapping[str, Any],
               pages_max: int) -> Iterator[list[Item]]:
        start: Mapping[str, Any] | None = None
        for _ in range(pages_max):
            paging = {} if start is None else {"ExclusiveStartKey": start}
            try:
                page = getattr(self._dynamodb, operation)(**request, **paging)
            except _FAILURES as exc:
                raise Unavailable(f"the websocket registry is unavailable: {exc}") from exc
            yield page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if start is None:
                return
        log.warning("registry read stopped at its page bound",
                    extra={"operation": operation, "pages": pages_max})


def _principal(item: Item) -> Principal:
    return Principal(item["userId"]["S"], item["role"]["S"], int(item["expiresAt"]["N"]))


def _unchanged(version: int) -> dict[str, Any]:
    if version == 0:
        return {"ConditionExpression": "attribute_not_exists(connectionId)"}
    return {"ConditionExpression": "#v = :v", "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": str(version)}}}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _cap_changed(error: ClientError) -> bool:
    """The cap item is the transaction's first write; its condition failing means a race."""
    reasons = error.response.get("CancellationReasons") or [{}]
    return bool(reasons[0].get("Code") == "ConditionalCheckFailed")
