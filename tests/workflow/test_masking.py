"""Masks hide identity and phone numbers while keeping them tellable apart."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from config.logs import configure_logging
from config.masking import mask_id_number, mask_phone, mask_text


def test_resident_id_keeps_region_and_tail() -> None:
    assert mask_id_number("110101199003071233") == "110***********1233"


def test_credit_code_keeps_three_and_four() -> None:
    assert mask_id_number("91110000MA01ABCD2Q") == "911***********CD2Q"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("E12345678", "E******78"), ("1234", "***4"), ("12", "**"), ("", "")],
)
def test_short_values_are_mostly_masked(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


def test_mask_keeps_the_length() -> None:
    assert len(mask_id_number("D2143569-X")) == len("D2143569-X")


def test_mobile_keeps_three_and_four() -> None:
    assert mask_phone("13800138000") == "138****8000"


def test_country_code_stays_readable() -> None:
    assert mask_phone("+8613800138000") == "+86138****8000"


def test_other_phone_formats_are_masked_like_ids() -> None:
    assert mask_phone("010-12345678") == "01*******678"


def test_text_masks_every_occurrence_of_every_secret() -> None:
    text = "ID 110101199003071233, phone 13800138000; again 13800138000"
    masked = mask_text(text, ["110101199003071233", "13800138000"])
    assert masked == "ID 110***********1233, phone 138****8000; again 138****8000"


def test_text_matches_check_character_in_either_case() -> None:
    masked = mask_text("id 11010519491231002x", ["11010519491231002X"])
    assert masked == "id 110***********002X"


def test_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    masked = mask_text("code 9111000013800138000X", ["13800138000", "9111000013800138000X"])
    assert masked == "code 911*************000X"


def test_empty_secrets_leave_text_alone() -> None:
    assert mask_text("nothing to hide", ["", ""]) == "nothing to hide"


def test_text_masks_numbers_shaped_like_a_mobile_or_an_identity_it_was_not_given() -> None:
    masked = mask_text("call +8613912345678 or id 11010519491231002x, not order 12345")
    assert masked == "call +86139****5678 or id 110***********002x, not order 12345"


@pytest.mark.parametrize(
    "written", ["138 0013 8000", "138-0013-8000", "138.0013.8000", "+86 138 0013 8000"]
)
def test_text_masks_a_mobile_written_in_groups(written: str) -> None:
    masked = mask_text(f"申请人手机 {written}，请回电")
    assert "0013" not in masked and "138" in masked and "8000" in masked


def test_grouped_digits_that_are_no_mobile_are_left_alone() -> None:
    text = "on 2026-03-02 at 10:00, order 2026 0123 4567, ticket 120-1234-5678-9"
    assert mask_text(text) == text


def test_text_leaves_record_and_service_numbers_alone() -> None:
    text = "京ICP备2026000123号-1 on BA2026000123"
    assert mask_text(text) == text


def test_log_lines_mask_mobiles_and_identity_numbers_wherever_they_appear() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging(stream=stream)
        structlog.get_logger("test").info("sms to 13800138000", owner="91110000MA01ABCD52")
        logging.getLogger("stdlib").warning("retrying 13800138000")
    finally:
        root.handlers, root.level = handlers, level
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["event"], line.get("owner")) for line in lines] == [
        ("sms to 138****8000", "911***********CD52"),
        ("retrying 138****8000", None),
    ]
