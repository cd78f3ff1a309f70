"""The blueprint and API classes every use case is built from."""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask_smorest import Api, Blueprint

from mlservice import swagger_ui
from mlservice.errors import register_error_handlers
from mlservice.parsing import StrictJSONParser
from mlservice.schemas.responses import ErrorSchema


class ServiceApi(Api):
    """flask-smorest's Api, with our error handlers and error schema instead of its own."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        register_error_handlers(self._app)

    def _register_swagger_ui_rule(self, blueprint: Any) -> None:
        """Swagger UI's page, plus its JS and CSS from our own origin instead of a CDN."""
        super()._register_swagger_ui_rule(blueprint)
        if self.config.get("OPENAPI_SWAGGER_UI_PATH"):
            swagger_ui.add_assets_rule(blueprint, self.config.get("OPENAPI_SWAGGER_UI_URL"))
            swagger_ui.add_trailing_slash_redirect(blueprint, self.config["OPENAPI_SWAGGER_UI_PATH"])


class ServiceBlueprint(Blueprint):
    """A blueprint whose JSON bodies go through the hardened parser."""

    ARGUMENTS_PARSER = StrictJSONParser()
    #: The shape its error answers are documented in.
    ERROR_SCHEMA: type = ErrorSchema

    def errors(self, *codes: int) -> Callable[[Any], Any]:
        """Document the error statuses an operation can answer, all in the error shape.

        Only the documentation ``alt_response`` writes is kept, not its wrapper: each
        wrapper layer would cost an ``ensure_sync`` call on every request.
        """

        def decorator(func: Any) -> Any:
            for code in codes:
                documented = self.alt_response(code, schema=self.ERROR_SCHEMA, description=HTTPStatus(code).phrase)(func)
                func._apidoc = documented._apidoc
            return func

        return decorator


#: Statuses every JSON-body prediction can answer besides 200.
PREDICTION_ERRORS = (400, 413, 415, 422, 503)
