"""The field rules of a Funko and the life of the Funko aggregate."""

from decimal import Decimal
from typing import Any

import pytest

from domain.funko import Funko, FunkoDeleted, NothingToChange, changes_of
from domain.rules import InvalidFunko, check_fields


def fields(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Darth Vader",
        "price": Decimal("19.99"),
        "stock": 5,
        "image": "https://example.com/vader.png",
        "category": "star wars",
    }
    return {**base, **overrides}


def error_of(field: str, value: Any) -> str:
    with pytest.raises(InvalidFunko) as caught:
        check_fields({field: value}, required=False)
    assert list(caught.value.errors) == [field]
    return caught.value.errors[field]


def test_a_name_is_trimmed() -> None:
    assert check_fields({"name": "  Yoda \n"}, required=False) == {"name": "Yoda"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, 42, None])
def test_a_name_must_be_1_to_100_characters_of_text(name: Any) -> None:
    error_of("name", name)


def test_a_name_of_100_characters_after_trimming_is_accepted() -> None:
    assert check_fields({"name": f" {'x' * 100} "}, required=False)["name"] == "x" * 100


@pytest.mark.parametrize(
    ("price", "normalised"),
    [
        (0, Decimal("0.00")),
        (12, Decimal("12.00")),
        (Decimal("0.1"), Decimal("0.10")),
        (Decimal("1000000"), Decimal("1000000.00")),
        (Decimal("99.99"), Decimal("99.99")),
    ],
)
def test_a_price_is_an_exact_number_with_two_decimals(price: Any, normalised: Decimal) -> None:
    clean = check_fields({"price": price}, required=False)["price"]
    assert clean == normalised
    assert isinstance(clean, Decimal)
    assert str(clean) == str(normalised)


def test_a_negative_zero_price_is_a_plain_zero() -> None:
    price = check_fields({"price": Decimal("-0.0")}, required=False)["price"]
    assert str(price) == "0.00"


@pytest.mark.parametrize(
    "price",
    [
        Decimal("-0.01"),
        -1,
        Decimal("1000000.01"),
        1_000_001,
        Decimal("1.999"),
        19.99,
        True,
        "19.99",
        Decimal("NaN"),
        Decimal("Infinity"),
        None,
    ],
)
def test_a_price_out_of_range_inexact_or_not_a_number_is_refused(price: Any) -> None:
    error_of("price", price)


@pytest.mark.parametrize("stock", [0, 1, 1_000_000])
def test_a_stock_between_0_and_a_million_is_accepted(stock: int) -> None:
    assert check_fields({"stock": stock}, required=False) == {"stock": stock}


@pytest.mark.parametrize("stock", [-1, 1_000_001, True, False, 1.0, "3", None])
def test_a_stock_must_be_an_integer_between_0_and_a_million(stock: Any) -> None:
    error_of("stock", stock)


@pytest.mark.parametrize(
    "image",
    [
        None,
        "http://example.com/a.png",
        "https://example.com/" + "a" * 480,
        "https://example.com",
        "HTTPS://Example.COM/a.png",
        "http://img.example:8080/a/b.png?size=2&x=%E2%9C%93#top",
        "https://xn--bcher-kva.example/b%C3%BCcher.png",
        "http://127.0.0.1/a.png",
        "http://[::1]:65535/a.png",
        "http://[2001:db8::7]/a.png",
        "https://example.com/a(1)!$&'*+,;=:@~_-.png",
        "https://example.com/?q=/a?b#/c?d",
    ],
)
def test_an_image_is_none_or_an_absolute_http_url_kept_as_given(image: str | None) -> None:
    assert check_fields({"image": image}, required=False) == {"image": image}


@pytest.mark.parametrize(
    "image",
    [
        "ftp://example.com/a.png",
        "/a.png",
        "example.com/a.png",
        "http://",
        "javascript:alert(1)",
        "https://example.com/" + "a" * 481,
        7,
    ],
)
def test_an_image_that_is_not_an_absolute_http_url_of_500_characters_is_refused(
    image: Any,
) -> None:
    error_of("image", image)


BAD_URLS = [
    "https://a b/<script>",
    "https://example.com/a b.png",
    "https://example.com/<script>",
    'https://example.com/"a".png',
    "https://example.com/{a}|b\\c^d`e.png",
    "https://example.com/a%2",
    "https://example.com/a%zz",
    "https://example.com/\u00e9.png",
    "https://ex\u00e4mple.com/a.png",
    "https://example.com/a\t.png",
    "https://exa\tmple.com/a.png",
    " https://example.com/a.png",
    "https://example.com/a.png\n",
    "https://example.com/a#b#c",
    "https://example.com/a[1].png",
    "https://example..com/a.png",
    "https://.example.com/a.png",
    "https://example.com./a.png",
    "https://-example.com/a.png",
    "https://exa_mple.com/a.png",
    "https://user:pw@example.com/a.png",
    "https://example.com@evil.example/a.png",
    "https://example.com:0/a.png",
    "https://example.com:65536/a.png",
    "https://example.com:/a.png",
    "https://example.com:http/a.png",
    "https://256.1.1.1/a.png",
    "https://1.2.3/a.png",
    "https://0x7f.1/a.png",
    "https://[::1/a.png",
    "https://[zz::1]/a.png",
    "https://[fe80::1%25eth0]/a.png",
    "https:///a.png",
    "https:example.com/a.png",
    "https//example.com/a.png",
]


@pytest.mark.parametrize("image", BAD_URLS)
def test_an_image_that_breaks_rfc_3986_or_names_no_valid_host_is_refused(image: str) -> None:
    assert error_of("image", image) == "must be an absolute http(s) URL"


def test_a_name_is_stored_in_nfc_and_counted_after_normalising() -> None:
    decomposed = "Caf" + "e\u0301" * 50  # 101 code points in NFD, 51 in NFC
    assert check_fields({"name": decomposed}, required=False) == {"name": "Caf" + "\u00e9" * 50}


def test_a_category_in_nfd_is_the_same_category_as_in_nfc() -> None:
    nfd = check_fields({"category": "cafe\u0301"}, required=False)["category"]
    nfc = check_fields({"category": "CAF\u00c9"}, required=False)["category"]
    assert nfd == nfc == "CAF\u00c9"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u200e", "\u202e"],
)
def test_invisible_format_characters_are_trimmed_from_both_ends(invisible: str) -> None:
    padded = f"{invisible} {invisible}Yoda{invisible}\n{invisible}"
    assert check_fields({"name": padded, "category": padded}, required=False) == {
        "name": "Yoda",
        "category": "YODA",
    }


@pytest.mark.parametrize("field", ["name", "category"])
def test_a_text_made_only_of_invisible_characters_is_refused_like_an_empty_one(
    field: str,
) -> None:
    limit = 100 if field == "name" else 50
    message = f"must be 1 to {limit} characters after trimming"
    assert error_of(field, "\u200b\u200d\ufeff \u2060\u00ad") == message
    assert error_of(field, "\U000e0067\U000e007f") == message  # tags with no emoji to follow


def test_trimming_keeps_what_is_inside_and_the_visible_signs_at_the_ends() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl
    # The flag of England: a black flag, then tag characters (format characters) to the end.
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    number = "\u0600\u0661\u0662"  # the Arabic number sign (visible) leads the digits
    name = f"\u200b{number} {family} Zero\u200bWidth \u2764\ufe0f {england}\u200b"
    assert check_fields({"name": name}, required=False) == {
        "name": f"{number} {family} Zero\u200bWidth \u2764\ufe0f {england}"
    }


def test_a_category_is_trimmed_and_upper_cased() -> None:
    assert check_fields({"category": "  Marvel x "}, required=False) == {"category": "MARVEL X"}


@pytest.mark.parametrize("category", ["", "  ", "c" * 51, 3])
def test_a_category_must_be_1_to_50_characters_of_text(category: Any) -> None:
    error_of("category", category)


def test_an_unknown_field_is_refused() -> None:
    assert error_of("colour", "red") == "is not a Funko field"


def test_a_new_funko_needs_every_field_but_the_image() -> None:
    with pytest.raises(InvalidFunko) as caught:
        check_fields({"image": None}, required=True)
    assert set(caught.value.errors) == {"name", "price", "stock", "category"}
    without_image = {k: v for k, v in fields().items() if k != "image"}
    assert check_fields(without_image, required=True)["image"] is None


def test_invalid_funko_names_each_bad_field_and_only_those() -> None:
    with pytest.raises(InvalidFunko) as caught:
        Funko.register(fields(name=" ", price=1.5, stock=-1, extra=1))
    assert set(caught.value.errors) == {"name", "price", "stock", "extra"}
    assert "price" in str(caught.value)


def test_registering_records_created_at_version_1_with_every_field() -> None:
    funko = Funko.register(fields(name="  Vader ", category=" sw "))
    (created,) = funko.collect_events()
    assert isinstance(created, Funko.Created)
    assert (funko.version, created.originator_version) == (1, 1)
    assert changes_of(created) == {
        "name": "Vader",
        "price": Decimal("19.99"),
        "stock": 5,
        "image": "https://example.com/vader.png",
        "category": "SW",
    }


def test_replacing_records_updated_with_every_field_and_no_image_means_none() -> None:
    funko = Funko.register(fields())
    funko.replace({"name": "Luke", "price": 3, "stock": 0, "category": "jedi"})
    _, updated = funko.collect_events()
    assert isinstance(updated, Funko.Updated)
    assert updated.originator_version == funko.version == 2
    assert changes_of(updated) == {
        "name": "Luke",
        "price": Decimal("3.00"),
        "stock": 0,
        "category": "JEDI",
        "image": None,
    }
    assert funko.image is None


def test_a_replacement_missing_fields_is_refused_and_changes_nothing() -> None:
    funko = Funko.register(fields())
    with pytest.raises(InvalidFunko) as caught:
        funko.replace({"name": "Luke"})
    assert set(caught.value.errors) == {"price", "stock", "category"}
    assert (funko.version, funko.name) == (1, "Darth Vader")


def test_amending_records_only_the_fields_it_names() -> None:
    funko = Funko.register(fields())
    funko.amend({"stock": 9, "category": "sith"})
    _, updated = funko.collect_events()
    assert changes_of(updated) == {"stock": 9, "category": "SITH"}
    assert (funko.version, funko.stock, funko.category, funko.name) == (2, 9, "SITH", "Darth Vader")


def test_amending_nothing_is_refused() -> None:
    funko = Funko.register(fields())
    with pytest.raises(NothingToChange):
        funko.amend({})
    assert funko.version == 1


def test_deleting_records_deleted_with_no_changes() -> None:
    funko = Funko.register(fields())
    funko.delete()
    _, deleted = funko.collect_events()
    assert isinstance(deleted, Funko.Deleted)
    assert (deleted.originator_version, funko.deleted, changes_of(deleted)) == (2, True, {})


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.replace(fields()),
        lambda f: f.amend({"stock": 1}),
        lambda f: f.amend({}),
        Funko.delete,
    ],
)
def test_a_deleted_funko_refuses_changes(change: Any) -> None:
    funko = Funko.register(fields())
    funko.delete()
    with pytest.raises(FunkoDeleted):
        change(funko)
    assert funko.version == 2


def test_a_price_stays_an_exact_decimal() -> None:
    funko = Funko.register(fields(price=Decimal("0.1")))
    funko.amend({"price": Decimal("0.2")})
    assert funko.price + Decimal("0.1") == Decimal("0.3")
    assert funko.as_dict()["price"] == Decimal("0.20")
    assert isinstance(funko.as_dict()["price"], Decimal)
