"""Errors the shop's API answers itself, registered once on the app."""

from __future__ import annotations

from flask import Flask, jsonify

__all__ = ["BadParameter", "register_error_handlers"]


class BadParameter(ValueError):
    """A query parameter the API cannot serve; answered as 400 naming the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def _bad_parameter(exc: BadParameter):
    return jsonify(error=str(exc), parameter=exc.name), 400


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(BadParameter, _bad_parameter)
