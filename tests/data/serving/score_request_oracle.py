#!/usr/bin/env python3
"""Writes score_request_cases.json: what the Python service answers for each request body.

The Python service was FastAPI 0.92 on pydantic 1.10. This script rebuilds the part of it that
decides a POST /score answer before the endpoint runs (FastAPI's body reading, its
request_body_to_args and its RequestValidationError handler) on pydantic's v1 API, with the
request model of docs/API.md, including where csml is stricter than pydantic's coercion: a
numeric feature must be a JSON number (strings and bools are type_error.float), and region a
JSON string or null (numbers and bools are type_error.str, as pydantic's StrictStr says);
a region code in another letter case is read as its upper-case code ("in" is IN).

Regenerate (needs Python 3.11 with pydantic 2.x, which ships pydantic.v1):
    python3 tests/data/serving/score_request_oracle.py > tests/data/serving/score_request_cases.json
Accepted bodies are written with status 200 and the decoded request instead of a response body.
"""
import email.message
import json
import re
import sys
from typing import Optional

from pydantic.v1 import BaseConfig, BaseModel, Field, StrictStr, confloat, errors, validator
from pydantic.v1.error_wrappers import ErrorWrapper, flatten_errors
from pydantic.v1.fields import ModelField

NonNegative = confloat(ge=0, allow_inf_nan=False)
UnitInterval = confloat(ge=0, le=1, allow_inf_nan=False)
REGION_CODES = ("IN", "SG", "US", "EU")
NUMERIC = ["activity_7d", "activity_30d", "time_since_last_use_days", "failed_renewals_30d",
           "tickets_7d", "tickets_30d", "plan_value", "usage_score"]


class Features(BaseModel):
    activity_7d: Optional[NonNegative] = Field(...)
    activity_30d: Optional[NonNegative] = Field(...)
    time_since_last_use_days: Optional[NonNegative] = Field(...)
    failed_renewals_30d: Optional[NonNegative] = Field(...)
    tickets_7d: Optional[NonNegative] = Field(...)
    tickets_30d: Optional[NonNegative] = None
    plan_value: Optional[NonNegative] = Field(...)
    usage_score: Optional[UnitInterval] = Field(...)
    region: Optional[StrictStr] = Field(...)

    @validator(*NUMERIC, pre=True)
    def json_numbers_only(cls, v):  # docs/API.md: no coercion from strings or bools
        if isinstance(v, (str, bool, bytes)):
            raise errors.FloatError()
        return v

    @validator("region")
    def region_code_any_case(cls, v):  # docs/API.md: "in" is IN (ASCII letters only)
        if v is not None and v.isascii() and v.upper() in REGION_CODES:
            return v.upper()
        return v


class ScoreRequest(BaseModel):
    userId: str
    features: Features


BODY_FIELD = ModelField(name="req", type_=ScoreRequest, class_validators={},
                        model_config=BaseConfig, required=True)


def without_lone_surrogates(text):
    # A Python str may hold lone surrogates (from \\ud800 escapes or 'surrogatepass'), which
    # UTF-8 cannot carry: the Python service failed with a 500 writing them; csml writes
    # U+FFFD instead.
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def render(status, content):
    return status, without_lone_surrogates(json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")))


def answer(body: bytes, content_type: Optional[str]):
    try:
        value = None
        if body:
            json_body = None
            parse = False
            if not content_type:
                parse = True
            else:
                message = email.message.Message()
                message["content-type"] = content_type
                if message.get_content_maintype() == "application":
                    subtype = message.get_content_subtype()
                    parse = subtype == "json" or subtype.endswith("+json")
            value = json.loads(body) if parse else body
    except json.JSONDecodeError as e:
        wrapped = [ErrorWrapper(e, ("body", e.pos))]
        return render(422, {"detail": list(flatten_errors(wrapped, BaseConfig))})
    except Exception:  # FastAPI 0.92: any other failure reading the body
        return render(400, {"detail": "There was an error parsing the body"})
    if value is None:
        wrapped = [ErrorWrapper(errors.MissingError(), loc=("body",))]
        return render(422, {"detail": list(flatten_errors(wrapped, BaseConfig))})
    model, errs = BODY_FIELD.validate(value, {}, loc=("body",))
    if errs:
        return render(422, {"detail": list(flatten_errors([errs], BaseConfig))})
    features = model.features
    decoded = {"userId": without_lone_surrogates(model.userId)}
    for name in NUMERIC:
        v = getattr(features, name)
        decoded[name] = None if v is None else float(v)
    decoded["region"] = None if features.region is None else without_lone_surrogates(features.region)
    return 200, decoded


FULL = {"activity_7d": 2, "activity_30d": 6, "time_since_last_use_days": 15,
        "failed_renewals_30d": 1, "tickets_7d": 0, "plan_value": 49, "region": "IN",
        "usage_score": 0.2}


def with_features(**changes):
    features = dict(FULL)
    for k, v in changes.items():
        if v is ...:
            del features[k]
        else:
            features[k] = v
    return json.dumps({"userId": "u_001", "features": features})


def raw_features(text):
    return '{"userId":"u_001","features":%s}' % text


CASES = [
    # Malformed JSON: CPython's messages and positions.
    ("truncated_after_number", '{"userId":"u1","features":{"activity_7d":2'),
    ("truncated_in_string", '{"userId":"u1'),
    ("truncated_after_colon", '{"userId":'),
    ("missing_colon", '{"userId" "u1"}'),
    ("missing_comma", '{"userId":"u1" "features":{}}'),
    ("trailing_comma_object", '{"userId":"u1",}'),
    ("trailing_comma_array", '[1,]'),
    ("single_quotes", "{'userId':'u1'}"),
    ("extra_data", '{"userId":"u1","features":{}} x'),
    ("two_documents", '{}{}'),
    ("bare_word", 'hello'),
    ("whitespace_only", ' \n\t '),
    ("invalid_escape", '{"userId":"u\\x1"}'),
    ("invalid_unicode_escape", '{"userId":"\\u12G4"}'),
    ("unicode_escape_at_end", '{"userId":"\\u123'),
    ("control_character_in_string", '{"userId":"u\x01"}'),
    ("newline_in_string", '{"userId":"u\n1"}'),
    ("error_on_third_line", '{\n  "userId": "u1",\n  "features": {,}\n}'),
    ("leading_zero", raw_features('{"activity_7d":01}')),
    ("minus_alone", raw_features('{"activity_7d":-}')),
    ("dot_without_digits", raw_features('{"activity_7d":1.}')),
    ("exponent_without_digits", raw_features('{"activity_7d":1e}')),
    ("non_ascii_before_error", '{"userId":"ü\u00e9\u4e2d","features":{]}'),
    ("astral_before_error", '{"userId":"\U0001F600","features":x}'),
    # Bodies that are not the expected object.
    ("json_null_body", 'null'),
    ("json_number_body", '5'),
    ("json_string_body", '"abc"'),
    ("json_empty_string_body", '""'),
    ("json_true_body", 'true'),
    ("array_of_pairs_body", '[["userId","u1"],["features",%s]]' % json.dumps(FULL)),
    ("array_of_non_pairs_body", '[1,2]'),
    ("array_with_non_string_key", '[[1,2]]'),
    ("array_with_list_key", '[[[1],2]]'),
    ("array_non_string_key_then_bad_element", '[[1,2],3]'),
    ("array_with_two_key_object_pair", '[{"userId":0,"u9":0},["features",%s]]' % json.dumps(FULL)),
    ("array_with_three_key_object", '[{"a":0,"b":0,"c":0}]'),
    ("features_pairs_with_null_key", '{"userId":"u1","features":[[null,1]]}'),
    ("two_char_string_pair_body", '["ab"]'),
    # userId.
    ("userId_float", json.dumps({"userId": 1.5, "features": FULL})),
    ("userId_big_float", json.dumps({"userId": 1e16, "features": FULL})),
    ("userId_negative_zero", '{"userId":-0,"features":%s}' % json.dumps(FULL)),
    ("userId_bool", json.dumps({"userId": True, "features": FULL})),
    ("userId_array", json.dumps({"userId": [], "features": FULL})),
    ("userId_object", json.dumps({"userId": {}, "features": FULL})),
    ("userId_unicode_escape", '{"userId":"\\u0075_\\ud83d\\ude00","features":%s}' % json.dumps(FULL)),
    ("userId_escaped_key", '{"user\\u0049d":"u1","features":%s}' % json.dumps(FULL)),
    ("userId_lone_surrogate", '{"userId":"\\ud800","features":%s}' % json.dumps(FULL)),
    # features as a whole.
    ("features_null", '{"userId":"u1","features":null}'),
    ("features_array_empty", '{"userId":"u1","features":[]}'),
    ("features_number", '{"userId":"u1","features":3}'),
    ("features_string", '{"userId":"u1","features":"x"}'),
    ("features_empty_object", '{"userId":"u1","features":{}}'),
    ("features_pairs", '{"userId":"u1","features":%s}' % json.dumps([[k, v] for k, v in FULL.items()])),
    # Numeric features.
    ("numeric_string_rejected", with_features(activity_7d="2")),
    ("bool_rejected", with_features(failed_renewals_30d=True)),
    ("array_rejected", with_features(plan_value=[1])),
    ("object_rejected", with_features(plan_value={})),
    ("negative_count", with_features(tickets_7d=-1)),
    ("negative_zero_ok", raw_features(json.dumps(FULL)[:-1] + ',"tickets_30d":-0.0}')),
    ("usage_score_above_one", with_features(usage_score=1.5)),
    ("usage_score_one_ok", with_features(usage_score=1)),
    ("usage_score_zero_ok", with_features(usage_score=0)),
    ("nan_token", raw_features(json.dumps(FULL)[:-1] + ',"tickets_30d":NaN}')),
    ("infinity_token", raw_features(json.dumps(FULL)[:-1] + ',"tickets_30d":Infinity}')),
    ("minus_infinity_token", raw_features(json.dumps(FULL)[:-1] + ',"tickets_30d":-Infinity}')),
    ("infinity_usage_score", raw_features(json.dumps(FULL).replace('"usage_score": 0.2', '"usage_score": Infinity'))),
    ("nan_usage_score", raw_features(json.dumps(FULL).replace('"usage_score": 0.2', '"usage_score": NaN'))),
    ("huge_float_literal", raw_features(json.dumps(FULL).replace('"plan_value": 49', '"plan_value": 1e400'))),
    ("tiny_float_literal", raw_features(json.dumps(FULL).replace('"plan_value": 49', '"plan_value": 1e-400'))),
    ("big_integer_literal", raw_features(json.dumps(FULL).replace('"plan_value": 49', '"plan_value": 123456789012345678901234567890'))),
    ("nulls_are_missing", with_features(activity_7d=None, usage_score=None, region=None, tickets_30d=None)),
    ("tickets_30d_absent_ok", with_features()),
    ("all_features_missing_and_bad", json.dumps({"userId": None, "features": {"usage_score": "x", "extra": 1}})),
    ("duplicate_key_last_wins", raw_features(json.dumps(FULL)[:-1] + ', "usage_score": 7}')),
    ("duplicate_key_last_valid", raw_features('{"usage_score": 7,' + json.dumps(FULL)[1:])),
    # Region.
    ("region_number", with_features(region=5)),
    ("region_bool", with_features(region=False)),
    ("region_array", with_features(region=["IN"])),
    ("region_lowercase", with_features(region="in")),
    ("region_mixed_case", with_features(region="Sg")),
    ("region_unknown_lowercase", with_features(region="br")),
    ("region_object", with_features(region={"code": "IN"})),
    ("region_float", with_features(region=1.5)),
    ("region_missing", with_features(region=...)),
    # Unknown keys.
    ("unknown_keys", raw_features(json.dumps(FULL)[:-1] + ',"a":1,"b":{"c":[1,2,{"d":null}]},"a":2}')),
    ("deeper_unknown_value", raw_features(json.dumps(FULL)[:-1] + ',"x":' + "[" * 50 + "]" * 50 + "}")),
]

# Bodies with a content type other than application/json, or undecodable bytes.
SPECIAL = [
    ("content_type_plus_json", json.dumps({"userId": "u1", "features": FULL}).encode(), "application/vnd.api+json"),
    ("content_type_with_charset", json.dumps({"userId": "u1", "features": FULL}).encode(), "application/json; charset=utf-8"),
    ("content_type_upper_case", json.dumps({"userId": "u1", "features": FULL}).encode(), "APPLICATION/JSON"),
    ("content_type_absent", json.dumps({"userId": "u1", "features": FULL}).encode(), None),
    ("content_type_text_json", json.dumps({"userId": "u1", "features": FULL}).encode(), "text/json"),
    ("content_type_without_slash", json.dumps({"userId": "u1", "features": FULL}).encode(), "json"),
    ("text_plain_empty_body", b"", "text/plain"),
    ("invalid_utf8", b'{"userId":"\xff","features":{}}', "application/json"),
    ("truncated_utf8", b'{"userId":"\xc3', "application/json"),
    ("utf8_bom", b"\xef\xbb\xbf" + json.dumps({"userId": "u1", "features": FULL}).encode(), "application/json"),
    ("utf8_bom_then_error", b"\xef\xbb\xbf{x", "application/json"),
    ("utf16_le_body", json.dumps({"userId": "u1", "features": FULL}).encode("utf-16-le"), "application/json"),
    ("utf16_with_bom_error", "{x".encode("utf-16"), "application/json"),
    ("utf32_be_body", json.dumps({"userId": "u1", "features": FULL}).encode("utf-32-be"), "application/json"),
    ("three_bytes_with_nuls_are_utf8", b"{\x00\x00", "application/json"),
    ("odd_length_utf16", b'{\x00"\x00x', "application/json"),
    ("utf16_lone_surrogate", '{"userId":"'.encode("utf-16-le") + b"\x00\xd8" + '","features":{}}'.encode("utf-16-le"), "application/json"),
    ("encoded_surrogate_passes", b'{"userId":"\xed\xa0\x80","features":{}}', "application/json"),
]


def case_record(name, body: bytes, content_type):
    status, result = answer(body, content_type)
    record = {"case": name, "content_type": content_type}
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body_hex"] = body.hex()
    record["status"] = status
    if status == 200:
        record["decoded"] = result
    else:
        record["response"] = result
    return record


def main():
    records = [case_record(n, b.encode("utf-8", "surrogatepass"), "application/json") for n, b in CASES]
    records += [case_record(n, b, ct) for n, b, ct in SPECIAL]
    # The decoded request holds floats such as inf only when the model accepts them, which it
    # never does; allow_nan=False proves it.
    json.dump(records, sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
