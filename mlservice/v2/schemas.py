"""The V2 request and response bodies (the Open Inference Protocol's REST API)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from mlservice.schemas.base import StrictSchema

DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64",
             "BYTES")
NAME = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$", error="Not a tensor name (letters, digits, _ . : -; at most 64).")
#: Protocol parameters a client may send (tritonclient sends ``binary_data``); none changes an answer.
Parameters = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), load_default=None,
                         validate=validate.Length(max=16))


def _a_list(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError("Not a list.")


class V2ErrorSchema(StrictSchema):
    """Every V2 error: what went wrong, naming inputs and rows, never a value."""

    error = fields.String(required=True)


class V2InputTensorSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    shape = fields.List(fields.Integer(validate=validate.Range(0, 1_000_000)), required=True,
                        validate=validate.Length(1, 2))
    datatype = fields.String(required=True, validate=validate.OneOf(DATATYPES))
    #: One check of the whole list, not a field call per value (a 1,000 x 7 tensor is 7,000 values).
    data = fields.Raw(required=True, validate=_a_list,
                      metadata={"type": "array", "items": {},
                                "description": "Row-major values: a flat list, or a list of rows."})
    parameters = Parameters


class V2RequestedOutputSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    parameters = Parameters


class V2InferRequestSchema(StrictSchema):
    """An inference request: one tensor per model input, or one ``[N, F]`` tensor of numbers."""

    id = fields.String(load_default=None, validate=validate.Length(max=128))
    parameters = Parameters
    inputs = fields.List(fields.Nested(V2InputTensorSchema), required=True, validate=validate.Length(1, 64))
    outputs = fields.List(fields.Nested(V2RequestedOutputSchema), load_default=None, validate=validate.Length(1, 16))


class V2OutputTensorSchema(StrictSchema):
    name = fields.String(required=True)
    shape = fields.List(fields.Integer(), required=True)
    datatype = fields.String(required=True)
    data = fields.Raw(required=True)


class V2InferResponseSchema(StrictSchema):
    model_name = fields.String(required=True)
    model_version = fields.String(required=True)
    id = fields.String(required=True)
    parameters = fields.Dict(metadata={"description": "The answering model's short digest and role."})
    outputs = fields.List(fields.Nested(V2OutputTensorSchema), required=True)


class V2TensorMetadataSchema(StrictSchema):
    name = fields.String(required=True)
    datatype = fields.String(required=True)
    shape = fields.List(fields.Integer(), required=True)


class V2ModelMetadataSchema(StrictSchema):
    name = fields.String(required=True)
    versions = fields.List(fields.String(), required=True)
    platform = fields.String(required=True)
    inputs = fields.List(fields.Nested(V2TensorMetadataSchema), required=True)
    outputs = fields.List(fields.Nested(V2TensorMetadataSchema), required=True)
    parameters = fields.Dict()


class V2ServerMetadataSchema(StrictSchema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    extensions = fields.List(fields.String(), required=True)


class V2ReadySchema(StrictSchema):
    name = fields.String()
    ready = fields.Boolean(required=True)


class V2LiveSchema(StrictSchema):
    live = fields.Boolean(required=True)
