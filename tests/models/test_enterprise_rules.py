"""The enterprise register: credit-code checks, create and edit."""
import pytest

from models.enterprise_rules import (EnterpriseInput, create_enterprise, credit_code_problem,
                                     default_checklist_codes, phone_problem, update_enterprise)
from models.errors import ValidationError
from models.registry import Enterprise
from tests.conftest import make_enterprise, valid_credit_code


@pytest.mark.parametrize("code", ["91110108551385082Q", "91440300708461136T", "91350100M000100Y43"])
def test_real_credit_codes_pass(code):
    """Codes printed on real business licences are accepted."""
    assert credit_code_problem(code) is None


def test_lowercase_and_spaces_are_normalised():
    """An inspector typing in lower case is not refused for it."""
    assert credit_code_problem(" 91110108551385082q ") is None


@pytest.mark.parametrize("code,words", [
    ("91110108551385082R", "校验位"),      # one wrong check character
    ("9111010855138508", "18 位"),         # too short
    ("91110108551385O82Q", "不允许的字符"),  # letter O instead of zero
])
def test_bad_credit_codes_say_why(code, words):
    """A wrong code is refused with the reason in Chinese."""
    assert words in credit_code_problem(code)


def test_phone_accepts_mobile_and_landline_and_refuses_garbage():
    """Mobile and landline formats pass; a short number is refused."""
    assert phone_problem("13907321234") is None
    assert phone_problem("0731-56781234") is None
    assert phone_problem("") is None
    assert "联系电话" in phone_problem("12345")


def test_create_refuses_invalid_and_stores_nothing(store):
    """An invalid credit code is refused and no enterprise is stored."""
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            create_enterprise(s, EnterpriseInput(name="某公司", credit_code="91430381MA4L12345X"))
    assert "校验位" in err.value.text()
    with store.session() as s:
        assert s.query(Enterprise).count() == 0


def test_create_then_edit(store):
    """An enterprise is stored normalised and can be edited; flags give its checklists."""
    eid = make_enterprise(store, credit_code=" " + valid_credit_code("91430381MA4L12345").lower())
    with store.transaction() as s:
        ent = s.get(Enterprise, eid)
        assert ent.credit_code == valid_credit_code("91430381MA4L12345")
        data = EnterpriseInput(name="湘乡市新名字有限公司", credit_code=ent.credit_code,
                               has_ammonia=True, has_confined_space=True)
        update_enterprise(s, eid, data)
    with store.session() as s:
        ent = s.get(Enterprise, eid)
        assert ent.name == "湘乡市新名字有限公司"
        assert default_checklist_codes(ent) == ["confined_space", "ammonia", "general"]


def test_duplicate_credit_code_is_refused(store):
    """The same credit code cannot be registered twice; the message names the holder."""
    make_enterprise(store)
    with pytest.raises(ValidationError) as err:
        make_enterprise(store, name="另一家公司")
    assert "湘乡市测试木业有限公司" in err.value.text()
