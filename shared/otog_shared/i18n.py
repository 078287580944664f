"""Thai and English problem texts, chosen by the caller's ``Accept-Language``.

Field officers read errors on a phone in the subdistrict, in Thai. The problem
``type`` slug never changes with the language: clients branch on it, people read
``title``, ``detail`` and ``errors[].message``.

One rule for ``Content-Language``: it names the language the caller asked for and got
the ``title`` in. Every problem type has a Thai title (a test walks every problem class
of the three services), so a Thai caller always gets ``Content-Language: th``; a
``detail`` or field message with no Thai text yet stays in English inside that answer
rather than being dropped.

Details are translated by their English text: the English sentence a service raises is
the message id, with ``{name}`` standing for the parts the raise site fills in (a
status, an amount, a date). Raise sites therefore stay plain English and need no
change; adding a Thai text is one line here. A raise site may instead carry its own
Thai text (``ProblemError(detail, detail_th=...)``) when its English is built in a way
a template cannot match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any, Final, Literal

Language = Literal["en", "th"]
DEFAULT_LANGUAGE: Final[Language] = "en"
SUPPORTED: Final[tuple[Language, ...]] = ("en", "th")

# Set per request by the request-context middleware; read when a problem is answered.
language_var: ContextVar[Language] = ContextVar("language", default=DEFAULT_LANGUAGE)

_Q_VALUE = re.compile(r"^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$", re.IGNORECASE)


def negotiate(accept_language: str | None) -> Language:
    """The language to answer in, from an ``Accept-Language`` header (RFC 9110 §12.5.4).

    ``th``, ``th-TH`` and ``th;q=0.9,en;q=0.8`` give Thai; anything else, a missing or
    unparsable header, ``*`` or ``th;q=0`` gives English. Among equal weights the one
    listed first wins.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: Language = DEFAULT_LANGUAGE
    best_q = -1.0
    for item in accept_language.split(",")[:32]:
        tag, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            if _Q_VALUE.match(param.replace(" ", "")):
                q = float(param.replace(" ", "")[2:])
            elif param.lower().startswith("q="):
                q = -1.0  # a malformed weight: ignore the range rather than guess
        primary = tag.split("-", 1)[0].lower()
        language: Language | None
        if primary == "*":
            language = DEFAULT_LANGUAGE
        elif primary in SUPPORTED:
            language = primary
        else:
            language = None
        if language is None or q <= 0:
            continue
        if q > best_q:
            best, best_q = language, q
    return best


# Titles by problem slug: every problem type the services raise (see
# tests/i18n/test_catalogue.py, which fails for a type missing here).
_UNAVAILABLE_TH = "ระบบไม่พร้อมให้บริการชั่วคราว"
TITLES_TH: Final[Mapping[str, str]] = {
    # Generic HTTP problems.
    "bad-request": "คำขอไม่ถูกต้อง",
    "unauthorized": "ยืนยันตัวตนไม่สำเร็จ",
    "forbidden": "ไม่มีสิทธิ์ดำเนินการ",
    "not-found": "ไม่พบข้อมูล",
    "method-not-allowed": "ไม่รองรับวิธีเรียกใช้นี้",
    "not-acceptable": "ไม่มีข้อมูลในรูปแบบที่ขอ",
    "conflict": "ขัดแย้งกับข้อมูลปัจจุบัน",
    "length-required": "ต้องระบุขนาดของข้อมูลที่ส่ง",
    "precondition-failed": "ข้อมูลถูกแก้ไขไปก่อนแล้ว",
    "payload-too-large": "ข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
    "unsupported-media-type": "ไม่รองรับรูปแบบไฟล์นี้",
    "validation-error": "ข้อมูลไม่ถูกต้อง",
    "precondition-required": "ต้องระบุเวอร์ชันของข้อมูล (If-Match)",
    "too-many-requests": "ส่งคำขอถี่เกินไป",
    "request-header-fields-too-large": "ส่วนหัวของคำขอใหญ่เกินไป",
    "internal-error": "ระบบขัดข้อง",
    "bad-gateway": _UNAVAILABLE_TH,
    "service-unavailable": _UNAVAILABLE_TH,
    "request-timeout": "ส่งคำขอช้าเกินกำหนด",
    "uri-too-long": "ที่อยู่ (URL) ยาวเกินไป",
    "not-implemented": "ระบบยังไม่รองรับคำขอนี้",
    "http-version-not-supported": "ไม่รองรับ HTTP เวอร์ชันนี้",
    "gateway-timeout": "ระบบตอบช้าเกินกำหนด",
    "dependency-unavailable": _UNAVAILABLE_TH,
    "database-unavailable": _UNAVAILABLE_TH,
    "transaction-conflict": _UNAVAILABLE_TH,
    "shutting-down": _UNAVAILABLE_TH,
    # Offline field work.
    "id-conflict": "รหัสนี้ถูกใช้กับข้อมูลอื่นแล้ว",
    "resync-required": "ต้องดึงข้อมูลใหม่ทั้งหมด",
    # Registry.
    "duplicate-worker": "แรงงานรายนี้ลงทะเบียนไว้แล้ว",
    "duplicate-user": "มีผู้ใช้นี้อยู่แล้ว",
    "duplicate-certification": "บันทึกการรับรองมาตรฐานนี้ไว้แล้ว",
    "already-member": "เป็นสมาชิกของกลุ่มอยู่แล้ว",
    "leader-exists": "กลุ่มมีประธานอยู่แล้ว",
    "illegal-stage-transition": "เปลี่ยนระยะของกลุ่มเช่นนี้ไม่ได้",
    "prototype-taken": "ตำบลนี้มีกลุ่มต้นแบบแล้ว",
    "cursor-expired": "ตำแหน่งอ่านต่อหมดอายุแล้ว",
    "webhook-disabled": "การแจ้งเตือน (webhook) ถูกปิดอยู่",
    "invalid-request": "คำขอไม่ครบถ้วน",
    "invalid-client": "ยืนยันแอปพลิเคชันไม่สำเร็จ",
    "invalid-grant": "สิทธิ์เข้าสู่ระบบใช้ไม่ได้",
    "invalid-scope": "ขอสิทธิ์เกินที่อนุญาต",
    "unsupported-grant-type": "ไม่รองรับวิธีขอสิทธิ์นี้",
    # Training.
    "duplicate-course-code": "รหัสหลักสูตรนี้ถูกใช้แล้ว",
    "already-enrolled": "ลงทะเบียนอบรมไว้แล้ว",
    "enrollment-closed": "ปิดรับลงทะเบียนอบรมแล้ว",
    "wrong-state": "สถานะปัจจุบันไม่อนุญาตให้ทำรายการนี้",
    "duplicate-certificate-number": "เลขที่วุฒิบัตรนี้ถูกใช้แล้ว",
    "capacity-below-confirmed": "จำนวนที่นั่งน้อยกว่าผู้ที่ได้ที่นั่งแล้ว",
    "course-mode-in-use": "รูปแบบการอบรมนี้ยังมีรอบอบรมใช้อยู่",
    "unknown-worker": "ไม่พบแรงงานรายนี้",
    "unknown-group": "ไม่พบกลุ่มนี้",
    "group-not-eligible": "กลุ่มไม่อยู่ในเกณฑ์",
    "not-a-group-member": "ไม่ได้เป็นสมาชิกของกลุ่ม",
    # Loan ledger.
    "budget-exceeded": "งบประมาณกองทุนไม่เพียงพอ",
    "invalid-loan-transition": "เปลี่ยนสถานะเงินกู้เช่นนี้ไม่ได้",
    "loan-not-active": "เงินกู้ไม่อยู่ในระหว่างผ่อนชำระ",
    "open-loan-exists": "กลุ่มมีเงินกู้ที่ยังไม่ปิดอยู่แล้ว",
    "duplicate-fund": "มีกองทุนชื่อนี้อยู่แล้ว",
    "repayment-already-reversed": "รายการชำระนี้ถูกยกเลิกไปแล้ว",
    "applications-closed": "กองทุนไม่เปิดรับคำขอกู้ในช่วงนี้",
    "principal-out-of-range": "วงเงินกู้อยู่นอกช่วงที่กองทุนกำหนด",
    "overpayment": "ชำระเกินยอดคงค้าง",
    "idempotency-key-missing": "ต้องระบุ Idempotency-Key",
    "idempotency-key-reused": "Idempotency-Key นี้ใช้กับคำขออื่นไปแล้ว",
    "idempotency-key-in-flight": "คำขอที่ใช้ Idempotency-Key นี้กำลังดำเนินการอยู่",
}

# For a status answered without a slug of its own (``http-`` and the status code).
STATUS_TITLES_TH: Final[Mapping[int, str]] = {
    400: "คำขอไม่ถูกต้อง",
    401: "ยืนยันตัวตนไม่สำเร็จ",
    403: "ไม่มีสิทธิ์ดำเนินการ",
    404: "ไม่พบข้อมูล",
    405: "ไม่รองรับวิธีเรียกใช้นี้",
    409: "ขัดแย้งกับข้อมูลปัจจุบัน",
    410: "ข้อมูลนี้ไม่มีให้แล้ว",
    412: "ข้อมูลถูกแก้ไขไปก่อนแล้ว",
    413: "ข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
    415: "ไม่รองรับรูปแบบไฟล์นี้",
    422: "ข้อมูลไม่ถูกต้อง",
    429: "ส่งคำขอถี่เกินไป",
    500: "ระบบขัดข้อง",
    502: _UNAVAILABLE_TH,
    503: _UNAVAILABLE_TH,
    504: "ระบบตอบช้าเกินกำหนด",
}

_RETRY_TH = "กรุณาลองใหม่อีกครั้งตามจำนวนวินาทีใน Retry-After"

# English detail → Thai, ``{name}`` matching any text the raise site filled in.
DETAILS_TH: Final[Mapping[str, str]] = {
    # Generic (otog_shared).
    "The request body is not valid JSON.": "ข้อมูลที่ส่งมาไม่ใช่ JSON ที่ถูกต้อง",
    "The request has invalid values.": "มีข้อมูลบางช่องไม่ถูกต้อง กรุณาตรวจสอบตามรายการด้านล่าง",
    "No resource at this path.": "ไม่พบข้อมูลตามที่อยู่นี้",
    "An unexpected error occurred. Quote the request id to support.": (
        "ระบบขัดข้องโดยไม่คาดคิด กรุณาแจ้งรหัสคำขอ (request id) แก่ผู้ดูแลระบบ"
    ),
    "The request is not valid HTTP: its request line, a header or the body framing "
    "is malformed.": "คำขอมีรูปแบบไม่ถูกต้องตามมาตรฐาน HTTP",
    "A header field, the cookies or the header section as a whole is too large.": (
        "ส่วนหัวของคำขอใหญ่เกินไป"
    ),
    "A bearer token is required.": "กรุณาเข้าสู่ระบบก่อนใช้งาน",
    "Use the Bearer authorization scheme.": "กรุณาส่งโทเคนแบบ Bearer",
    "The bearer token is malformed.": "โทเคนเข้าสู่ระบบมีรูปแบบไม่ถูกต้อง",
    "The bearer token is not valid.": "โทเคนเข้าสู่ระบบใช้ไม่ได้ กรุณาเข้าสู่ระบบใหม่",
    "The bearer token has expired.": "การเข้าสู่ระบบหมดอายุแล้ว กรุณาเข้าสู่ระบบใหม่",
    "The token was signed by an unknown key.": "โทเคนเข้าสู่ระบบใช้ไม่ได้ กรุณาเข้าสู่ระบบใหม่",
    "The token's signing algorithm is not accepted.": "โทเคนเข้าสู่ระบบใช้ไม่ได้",
    "The token's issuer is not trusted.": "โทเคนเข้าสู่ระบบไม่ได้ออกโดยระบบนี้",
    "The token lacks the scope this operation needs.": "บัญชีนี้ไม่มีสิทธิ์ทำรายการนี้",
    "This client may only act on its own province's data.": (
        "บัญชีนี้ทำรายการได้เฉพาะข้อมูลในจังหวัดของตนเท่านั้น"
    ),
    "A worker's own sign-in opens only the worker's own routes.": (
        "การเข้าสู่ระบบของแรงงานใช้ได้เฉพาะข้อมูลของตนเองเท่านั้น"
    ),
    "Only a worker's own sign-in (national digital ID) may use this operation.": (
        "รายการนี้ใช้ได้เฉพาะแรงงานที่เข้าสู่ระบบด้วยบัญชีดิจิทัลของตนเอง"
    ),
    "The token names no registered worker.": "ไม่พบแรงงานที่ลงทะเบียนตามบัญชีที่เข้าสู่ระบบ",
    "The resource has changed since it was read; fetch it again and retry.": (
        "ข้อมูลนี้ถูกแก้ไขไปหลังจากที่คุณเปิดดู กรุณาโหลดข้อมูลใหม่แล้วลองอีกครั้ง"
    ),
    "The database is unavailable (restarting, or the connection to it failed). "
    "Retry after the seconds in Retry-After.": "ฐานข้อมูลไม่พร้อมใช้งานชั่วคราว " + _RETRY_TH,
    "The database is not reachable.": "ติดต่อฐานข้อมูลไม่ได้ในขณะนี้",
    "This request's transaction conflicted with a concurrent one and was rolled back, "
    "so it changed nothing. Send it again.": (
        "มีรายการอื่นแก้ไขข้อมูลเดียวกันพร้อมกัน ระบบจึงยังไม่บันทึกรายการนี้ กรุณาส่งอีกครั้ง"
    ),
    "A record this request needs stayed locked by another transaction; "
    "the request was rolled back and changed nothing. Send it again.": (
        "ข้อมูลที่ต้องใช้กำลังถูกรายการอื่นใช้งานอยู่ ระบบจึงยังไม่บันทึกรายการนี้ กรุณาส่งอีกครั้ง"
    ),
    "The database cancelled this request's statement (it took too long); "
    "the request changed nothing. Retry after the seconds in Retry-After.": (
        "รายการนี้ใช้เวลานานเกินไปและยังไม่ถูกบันทึก " + _RETRY_TH
    ),
    "This instance is shutting down; another one will answer.": (
        "ระบบกำลังปิดปรับปรุง กรุณาลองใหม่อีกครั้ง"
    ),
    "The token signing keys could not be fetched.": "ตรวจสอบการเข้าสู่ระบบไม่ได้ในขณะนี้",
    "The token service could not be reached.": "ติดต่อระบบเข้าสู่ระบบไม่ได้ในขณะนี้",
    "This service could not authenticate to a dependency.": "ติดต่อระบบที่เกี่ยวข้องไม่ได้ในขณะนี้",
    "The {name} service is unavailable.": "ระบบ {name} ไม่พร้อมให้บริการชั่วคราว",
    "The {name} service could not be reached.": "ติดต่อระบบ {name} ไม่ได้ในขณะนี้",
    "The {name} service could not answer this request.": "ระบบ {name} ตอบคำขอนี้ไม่ได้",
    "The {name} service gave an unreadable answer.": "ระบบ {name} ตอบกลับมาไม่ถูกต้อง",
    "The registry sent an unexpected answer.": "ระบบทะเบียนตอบกลับมาไม่ถูกต้อง",
    "The registry gave an unreadable answer.": "ระบบทะเบียนตอบกลับมาไม่ถูกต้อง",
    # Not found.
    "Worker not found.": "ไม่พบข้อมูลแรงงาน",
    "Group not found.": "ไม่พบข้อมูลกลุ่ม",
    "Product not found.": "ไม่พบข้อมูลผลิตภัณฑ์",
    "Visit not found.": "ไม่พบข้อมูลการเยี่ยมกลุ่ม",
    "Photo not found.": "ไม่พบรูปภาพนี้",
    "Object storage is not configured (OBJECT_STORE_URL).": (
        "ยังไม่ได้ตั้งค่าที่เก็บไฟล์ (OBJECT_STORE_URL)"
    ),
    "User not found.": "ไม่พบข้อมูลผู้ใช้",
    "Province not found.": "ไม่พบจังหวัดนี้",
    "District not found.": "ไม่พบอำเภอนี้",
    "Subdistrict not found.": "ไม่พบตำบลนี้",
    "Webhook subscription not found.": "ไม่พบการสมัครรับแจ้งเตือน (webhook) นี้",
    "No worker with this national ID.": "ไม่พบแรงงานที่มีเลขประจำตัวประชาชนนี้",
    "The worker is not a current member of this group.": "แรงงานรายนี้ไม่ได้เป็นสมาชิกของกลุ่มนี้ในปัจจุบัน",
    "The signed-in worker is no longer registered.": "ไม่พบทะเบียนของแรงงานที่เข้าสู่ระบบอยู่",
    "Course not found.": "ไม่พบหลักสูตร",
    "Training session not found.": "ไม่พบรอบอบรม",
    "Enrolment not found.": "ไม่พบการลงทะเบียนอบรม",
    "Fund not found.": "ไม่พบกองทุน",
    "Loan not found.": "ไม่พบเงินกู้",
    "Repayment not found.": "ไม่พบรายการชำระเงิน",
    "Top-up not found.": "ไม่พบรายการเติมงบประมาณ",
    # Forbidden.
    "A worker may book a seat only for themselves.": "แรงงานจองที่นั่งอบรมได้เฉพาะให้ตนเองเท่านั้น",
    "Only a national client may {what} the course catalogue.": (
        "เฉพาะหน่วยงานส่วนกลางเท่านั้นที่แก้ไขรายการหลักสูตรได้"
    ),
    "Only a national client may create a fund.": "เฉพาะหน่วยงานส่วนกลางเท่านั้นที่สร้างกองทุนได้",
    "Only a national client may top up a fund.": "เฉพาะหน่วยงานส่วนกลางเท่านั้นที่เติมงบประมาณกองทุนได้",
    "The ledger of a national fund is open to national clients only.": (
        "บัญชีของกองทุนส่วนกลางเปิดดูได้เฉพาะหน่วยงานส่วนกลาง"
    ),
    "A client bound to a province creates users of that province.": (
        "บัญชีระดับจังหวัดสร้างผู้ใช้ได้เฉพาะในจังหวัดของตน"
    ),
    "A worker's own sign-in cannot manage webhooks.": "การเข้าสู่ระบบของแรงงานจัดการ webhook ไม่ได้",
    # Registry conflicts.
    "This person is already registered.": "บุคคลนี้ลงทะเบียนเป็นแรงงานไว้แล้ว",
    "Subdistrict {subdistrict} already has a prototype group for fiscal year {year}.": (
        "ตำบลรหัส {subdistrict} มีกลุ่มต้นแบบของปีงบประมาณ {year} อยู่แล้ว"
    ),
    "The worker is already a member of this group.": "แรงงานรายนี้เป็นสมาชิกของกลุ่มนี้อยู่แล้ว",
    "The group already has a leader; remove them first.": (
        "กลุ่มนี้มีประธานกลุ่มอยู่แล้ว กรุณานำประธานคนเดิมออกก่อน"
    ),
    "A group in stage {current} cannot move to {wanted}.": (
        "กลุ่มที่อยู่ในระยะ {current} เปลี่ยนไปเป็น {wanted} ไม่ได้"
    ),
    "This product already has a certification with this standard and number.": (
        "ผลิตภัณฑ์นี้มีการรับรองตามมาตรฐานและเลขที่นี้อยู่แล้ว"
    ),
    "The username {name} is taken.": "ชื่อผู้ใช้ {name} ถูกใช้แล้ว",
    "Events are kept {days} days; those after this cursor are gone. "
    "Start again without `after` (from the oldest kept).": (
        "ระบบเก็บเหตุการณ์ไว้ {days} วัน เหตุการณ์ต่อจากตำแหน่งนี้ถูกลบไปแล้ว กรุณาเริ่มอ่านใหม่โดยไม่ระบุ `after`"
    ),
    "A dissolved group takes no new members.": "กลุ่มที่ยุบแล้วรับสมาชิกใหม่ไม่ได้",
    "A dissolved group takes no new products.": "กลุ่มที่ยุบแล้วเพิ่มผลิตภัณฑ์ใหม่ไม่ได้",
    "No such worker.": "ไม่พบแรงงานรายนี้",
    "Send the file as text/csv in UTF-8.": "กรุณาส่งไฟล์ CSV (text/csv) ที่เข้ารหัส UTF-8",
    "The header row is not valid CSV.": "แถวหัวตารางไม่ใช่ CSV ที่ถูกต้อง",
    "The file is empty: a header row is required.": "ไฟล์ว่างเปล่า ต้องมีแถวหัวตาราง",
    "The subscription is disabled; enable it to ping it.": "การแจ้งเตือนนี้ถูกปิดอยู่ กรุณาเปิดใช้ก่อนทดสอบ",
    # Delta sync (otog_shared.sync).
    "Changes this old are no longer kept (cursors live at least 30 days): "
    "sync the collection again from the start, without a cursor.": (
        "ระบบไม่ได้เก็บการเปลี่ยนแปลงที่เก่าขนาดนี้ไว้แล้ว (ตำแหน่งอ่านต่อใช้ได้อย่างน้อย 30 วัน) "
        "กรุณาดึงข้อมูลชุดนี้ใหม่ตั้งแต่ต้นโดยไม่ระบุ `cursor`"
    ),
    "The cursor is not valid.": "ตำแหน่งอ่านต่อไม่ถูกต้อง",
    "This caller syncs province {province} only.": "ผู้เรียกนี้ดึงข้อมูลได้เฉพาะจังหวัดรหัส {province}",
    # Training.
    "A course with code {code} already exists.": "มีหลักสูตรรหัส {code} อยู่แล้ว",
    "This worker is already enrolled in this session.": "แรงงานรายนี้ลงทะเบียนในรอบอบรมนี้ไว้แล้ว",
    "The session is {status}; it takes no more bookings.": (
        "รอบอบรมนี้มีสถานะ {status} จึงไม่รับลงทะเบียนเพิ่ม"
    ),
    "Booking for this session has closed.": "รอบอบรมนี้ปิดรับลงทะเบียนแล้ว",
    "The session takes no more bookings.": "รอบอบรมนี้ไม่รับลงทะเบียนเพิ่มแล้ว",
    "Name the worker to enrol.": "กรุณาระบุแรงงานที่จะลงทะเบียน",
    "The group is {status} and cannot train in the programme.": (
        "กลุ่มมีสถานะ {status} จึงเข้ารับการอบรมในโครงการไม่ได้"
    ),
    "A {status} enrolment cannot be cancelled.": "การลงทะเบียนที่มีสถานะ {status} ยกเลิกไม่ได้",
    "The session is {status}.": "รอบอบรมนี้มีสถานะ {status} แล้ว",
    "The session is {status}; attendance and completion are recorded once it is running.": (
        "รอบอบรมนี้มีสถานะ {status} จะบันทึกการเข้าอบรมและการจบหลักสูตรได้เมื่อเริ่มอบรมแล้ว"
    ),
    "A {status} enrolment has no seat in the session.": (
        "การลงทะเบียนที่มีสถานะ {status} ไม่มีที่นั่งในรอบอบรมนี้"
    ),
    "This enrolment is already completed.": "การลงทะเบียนนี้บันทึกจบหลักสูตรไปแล้ว",
    "No attendance is recorded for this enrolment.": "ยังไม่มีการบันทึกการเข้าอบรมของผู้ลงทะเบียนรายนี้",
    "Completion cannot come before the session starts.": "วันที่จบหลักสูตรต้องไม่ก่อนวันเริ่มอบรม",
    "A {status} session can no longer be changed.": "รอบอบรมที่มีสถานะ {status} แก้ไขไม่ได้แล้ว",
    "A {status} session can change only: {fields}.": (
        "รอบอบรมที่มีสถานะ {status} แก้ไขได้เฉพาะ: {fields}"
    ),
    "A {status} session cannot be cancelled.": "รอบอบรมที่มีสถานะ {status} ยกเลิกไม่ได้",
    "Booking has not closed yet; a session is judged against its minimum "
    "only after its closing time.": (
        "ยังไม่ปิดรับลงทะเบียน จะพิจารณาจำนวนผู้เข้าอบรมขั้นต่ำได้หลังเวลาปิดรับเท่านั้น"
    ),
    "The session has reached its minimum.": "รอบอบรมนี้มีผู้ลงทะเบียนครบจำนวนขั้นต่ำแล้ว",
    "Only a confirmed session (one that reached its minimum) can start.": (
        "เริ่มอบรมได้เฉพาะรอบที่ยืนยันแล้ว (มีผู้ลงทะเบียนครบขั้นต่ำ)"
    ),
    "Only a running session can be completed.": "ปิดรอบอบรมได้เฉพาะรอบที่กำลังอบรมอยู่",
    "The session has invalid values.": "ข้อมูลรอบอบรมไม่ถูกต้อง",
    "The change has invalid values.": "ข้อมูลที่แก้ไขไม่ถูกต้อง",
    "The registry knows no group with this id.": "ระบบทะเบียนไม่มีกลุ่มรหัสนี้",
    "This certificate number is already recorded.": "เลขที่วุฒิบัตรนี้ถูกบันทึกไว้แล้ว",
    "{count} people already hold a seat; the capacity cannot go below that.": (
        "มีผู้ได้ที่นั่งแล้ว {count} คน จึงลดจำนวนที่นั่งให้ต่ำกว่านี้ไม่ได้"
    ),
    "{count} session(s) of this course that have not ended are {modes}; "
    "the mode cannot be taken away.": (
        "หลักสูตรนี้ยังมีรอบอบรมที่ยังไม่จบ {count} รอบในรูปแบบ {modes} จึงนำรูปแบบนี้ออกไม่ได้"
    ),
    # Loan ledger.
    "A fund with this name exists already.": "มีกองทุนชื่อนี้อยู่แล้ว",
    "The fund's terms are inconsistent.": "เงื่อนไขของกองทุนขัดแย้งกันเอง",
    "The fund takes applications from {date}.": "กองทุนเปิดรับคำขอกู้ตั้งแต่วันที่ {date}",
    "The fund stopped taking applications after {date} (Asia/Bangkok).": (
        "กองทุนปิดรับคำขอกู้แล้วหลังวันที่ {date} (เวลาประเทศไทย)"
    ),
    "The fund lends from {low} to {high} satang.": ("กองทุนให้กู้ได้ตั้งแต่ {low} ถึง {high} สตางค์"),
    "The group is {status} and may not apply for a loan.": ("กลุ่มมีสถานะ {status} จึงยื่นขอกู้ไม่ได้"),
    "The group already has an open loan in this fund.": "กลุ่มมีเงินกู้จากกองทุนนี้ที่ยังไม่ปิดอยู่แล้ว",
    "The fund has {available} satang available; this loan needs {needed}.": (
        "กองทุนมีเงินคงเหลือให้กู้ {available} สตางค์ แต่เงินกู้นี้ต้องใช้ {needed} สตางค์"
    ),
    "The repaid money has already been lent again by this revolving fund; "
    "reversing the repayment would take the fund over its budget.": (
        "เงินที่ชำระคืนถูกนำไปให้กู้ต่อแล้ว หากยกเลิกรายการชำระนี้กองทุนจะใช้เงินเกินงบประมาณ"
    ),
    "The registry does not know this group.": "ระบบทะเบียนไม่มีข้อมูลกลุ่มนี้",
    "The registry no longer knows the group that applied; the loan cannot be {action}.": (
        "ไม่พบกลุ่มที่ยื่นกู้ในระบบทะเบียนแล้ว จึงดำเนินการกับเงินกู้นี้ต่อไม่ได้"
    ),
    "The group has been {status} since it applied; the loan cannot be {action}.": (
        "หลังยื่นกู้ กลุ่มเปลี่ยนสถานะเป็น {status} จึงดำเนินการกับเงินกู้นี้ต่อไม่ได้"
    ),
    "This repayment has already been reversed.": "รายการชำระนี้ถูกยกเลิกไปแล้ว",
    "A request with this Idempotency-Key is still being processed; "
    "retry in a moment to get its response.": (
        "คำขอที่ใช้ Idempotency-Key นี้กำลังดำเนินการอยู่ กรุณาลองใหม่อีกสักครู่เพื่อรับผลลัพธ์"
    ),
    "This Idempotency-Key was already used for a different request; "
    "use a new key for a new request.": (
        "Idempotency-Key นี้ใช้กับคำขออื่นไปแล้ว กรุณาใช้ค่าใหม่สำหรับคำขอใหม่"
    ),
    "This Idempotency-Key was already used and its answer cannot be given back; "
    "use a new key for a new request.": (
        "Idempotency-Key นี้ถูกใช้ไปแล้วและไม่สามารถส่งคำตอบเดิมกลับได้ กรุณาใช้ค่าใหม่สำหรับคำขอใหม่"
    ),
    "This Idempotency-Key was used with a different request.": (
        "Idempotency-Key นี้ใช้กับคำขออื่นไปแล้ว กรุณาใช้ค่าใหม่สำหรับคำขอใหม่"
    ),
    "A request with this Idempotency-Key raced this one.": (
        "มีคำขออื่นที่ใช้ Idempotency-Key เดียวกันส่งเข้ามาพร้อมกัน กรุณาลองใหม่อีกครั้ง"
    ),
    "This request moves money: send an {header} header so that it can be retried safely.": (
        "รายการนี้เป็นการเคลื่อนไหวเงิน กรุณาส่ง {header} เพื่อให้ส่งซ้ำได้อย่างปลอดภัย"
    ),
    "A {status} loan cannot be {action}.": "เงินกู้ที่มีสถานะ {status} ทำรายการ {action} ไม่ได้",
    "Only an active loan takes repayments; this one is {status}.": (
        "รับชำระได้เฉพาะเงินกู้ที่อยู่ระหว่างผ่อนชำระ เงินกู้นี้มีสถานะ {status}"
    ),
    "The loan has {outstanding} satang outstanding; {amount} is more than that.": (
        "เงินกู้นี้มียอดคงค้าง {outstanding} สตางค์ ยอด {amount} สตางค์เกินยอดคงค้าง"
    ),
    "The Idempotency-Key header must be 1 to 255 visible ASCII characters "
    "(a UUID is a good choice).": (
        "Idempotency-Key ต้องเป็นอักขระ ASCII 1 ถึง 255 ตัว (แนะนำให้ใช้ UUID)"
    ),
    "This id is already taken by another resource or another request; "
    "send this new content with a new id.": (
        "รหัส (id) นี้ถูกใช้กับข้อมูลอื่นไปแล้ว หากต้องการบันทึกข้อมูลนี้เป็นรายการใหม่ กรุณาสร้างรหัสใหม่"
    ),
}

# Messages of ``errors[]`` entries that services build themselves (not pydantic's).
FIELD_MESSAGES_TH: Final[Mapping[str, str]] = {
    "required": "กรุณากรอกข้อมูลนี้",
    "not a sync cursor of this collection and province": ("ไม่ใช่ตำแหน่งอ่านต่อของข้อมูลชุดนี้และจังหวัดนี้"),
    "unknown worker": "ไม่พบแรงงานรายนี้",
    "unknown group": "ไม่พบกลุ่มนี้",
    "no such fund": "ไม่พบกองทุนนี้",
    "no such course": "ไม่พบหลักสูตรนี้",
    "in the future": "ต้องไม่เป็นวันในอนาคต",
    "too far in the future": "ไกลเกินไปในอนาคต",
    "before starts_on": "ต้องไม่ก่อนวันเริ่มอบรม",
    "starts_on would be after ends_on": "วันเริ่มอบรมจะอยู่หลังวันสิ้นสุด",
    "outside the fund's range": "อยู่นอกช่วงวงเงินที่กองทุนกำหนด",
    "more than outstanding": "เกินยอดคงค้าง",
    "outside the province this client may act in": "อยู่นอกจังหวัดที่บัญชีนี้ดูแล",
    "the worker is not a current member": "แรงงานรายนี้ไม่ได้เป็นสมาชิกของกลุ่มในปัจจุบัน",
    "this course is not offered in this mode": "หลักสูตรนี้ไม่มีการอบรมในรูปแบบนี้",
    "required while onsite": "ต้องระบุเมื่ออบรมแบบในสถานที่",
    "required while online": "ต้องระบุเมื่ออบรมแบบออนไลน์",
    "required when pdpa_basis is consent": "ต้องระบุเมื่อใช้ฐานความยินยอม",
    "must not exceed the budget": "ต้องไม่เกินงบประมาณ",
    "must not be below the minimum": "ต้องไม่น้อยกว่าขั้นต่ำ",
    "group is {status}": "กลุ่มมีสถานะ {status}",
    "used for another request": "ใช้กับคำขออื่นไปแล้ว",
    "not a DOPA province": "ไม่ใช่รหัสจังหวัดของกรมการปกครอง",
    "must be 2 digits": "ต้องเป็นตัวเลข 2 หลัก",
    # Messages of ValueErrors raised by schema validators (pydantic's ``value_error``).
    "must not be empty or only spaces": "ต้องไม่เว้นว่างหรือมีแต่ช่องว่าง",
    "must be a date written YYYY-MM-DD": "ต้องเป็นวันที่รูปแบบ YYYY-MM-DD (ปี ค.ศ.)",
    "must be a string of 13 digits": "ต้องเป็นตัวเลข 13 หลัก",
    "must be 13 digits": "ต้องเป็นตัวเลข 13 หลัก",
    "the check digit does not match": "เลขตรวจสอบหลักสุดท้ายไม่ถูกต้อง กรุณาตรวจเลขอีกครั้ง",
    "must be a phone number: digits, spaces and dashes": (
        "ต้องเป็นหมายเลขโทรศัพท์ (ตัวเลข ช่องว่าง และขีดเท่านั้น)"
    ),
    "must be an email address": "ต้องเป็นอีเมลที่ถูกต้อง",
    "modes must not repeat": "รูปแบบการอบรมต้องไม่ซ้ำกัน",
    "required for an {mode} session": "ต้องระบุสำหรับการอบรมแบบ {mode}",
    "required for a {mode} session": "ต้องระบุสำหรับการอบรมแบบ {mode}",
    "required for reason organiser: say why": "กรุณาระบุเหตุผลเมื่อผู้จัดเป็นผู้ยกเลิก",
    "must not be in the future": "ต้องไม่เป็นวันในอนาคต",
    "must be in 1900 or later": "ต้องเป็นปี ค.ศ. 1900 ขึ้นไป",
    "must not contain control characters": "มีอักขระควบคุมที่ไม่อนุญาต",
    "must not contain control characters other than tabs and newlines": (
        "มีอักขระควบคุมที่ไม่อนุญาต (ใช้ได้เฉพาะแท็บและขึ้นบรรทัดใหม่)"
    ),
    "must be an RFC 3339 date and time": "ต้องเป็นวันและเวลารูปแบบ RFC 3339",
    "may not be null; leave the field out to keep its value": (
        "ห้ามส่งค่าว่าง (null) หากไม่ต้องการแก้ไขให้ละช่องนี้ไว้"
    ),
    "expires_on must not be before issued_on": "วันหมดอายุต้องไม่ก่อนวันที่ออก",
    "a visit cannot be recorded before it happens": "บันทึกการเยี่ยมล่วงหน้าก่อนวันเยี่ยมจริงไม่ได้",
    "consent_given_at is required when pdpa_basis is consent": (
        "กรุณาระบุวันเวลาที่ให้ความยินยอม เมื่อใช้ฐานความยินยอมตาม PDPA"
    ),
    "standard_name is required when standard is other": "กรุณาระบุชื่อมาตรฐาน เมื่อเลือกมาตรฐานอื่น ๆ",
    "term must be at least one month": "ระยะเวลากู้ต้องอย่างน้อย 1 เดือน",
    "principal must be positive": "เงินต้นต้องมากกว่า 0",
}

# Thai labels of the fields officers fill in, used when a validation message names
# the field (the ``field`` path itself stays as sent).
FIELD_LABELS_TH: Final[Mapping[str, str]] = {
    "national_id": "เลขประจำตัวประชาชน",
    "first_name_th": "ชื่อ (ภาษาไทย)",
    "last_name_th": "นามสกุล (ภาษาไทย)",
    "first_name_en": "ชื่อ (ภาษาอังกฤษ)",
    "last_name_en": "นามสกุล (ภาษาอังกฤษ)",
    "birth_date": "วันเกิด",
    "phone": "หมายเลขโทรศัพท์",
    "contact_phone": "หมายเลขโทรศัพท์ผู้ติดต่อ",
    "contact_name": "ชื่อผู้ติดต่อ",
    "contact_email": "อีเมลผู้ติดต่อ",
    "occupation": "อาชีพ",
    "province_code": "รหัสจังหวัด",
    "district_code": "รหัสอำเภอ",
    "subdistrict_code": "รหัสตำบล",
    "name_th": "ชื่อ (ภาษาไทย)",
    "name_en": "ชื่อ (ภาษาอังกฤษ)",
    "name": "ชื่อ",
    "title_th": "ชื่อเรื่อง (ภาษาไทย)",
    "title_en": "ชื่อเรื่อง (ภาษาอังกฤษ)",
    "description": "รายละเอียด",
    "note": "หมายเหตุ",
    "reason": "เหตุผล",
    "status": "สถานะ",
    "stage": "ระยะของกลุ่ม",
    "role": "บทบาท",
    "code": "รหัส",
    "fiscal_year": "ปีงบประมาณ",
    "group_id": "กลุ่ม",
    "worker_id": "แรงงาน",
    "product_id": "ผลิตภัณฑ์",
    "fund_id": "กองทุน",
    "course_id": "หลักสูตร",
    "session_id": "รอบอบรม",
    "loan_id": "เงินกู้",
    "price_satang": "ราคา (สตางค์)",
    "unit": "หน่วยนับ",
    "amount_satang": "จำนวนเงิน (สตางค์)",
    "principal_satang": "เงินต้น (สตางค์)",
    "term_months": "ระยะเวลากู้ (เดือน)",
    "paid_on": "วันที่ชำระ",
    "purpose": "วัตถุประสงค์",
    "capacity": "จำนวนที่นั่ง",
    "minimum": "จำนวนผู้เข้าอบรมขั้นต่ำ",
    "starts_on": "วันเริ่มอบรม",
    "ends_on": "วันสิ้นสุดการอบรม",
    "enrollment_closes_at": "เวลาปิดรับลงทะเบียน",
    "venue": "สถานที่อบรม",
    "mode": "รูปแบบการอบรม",
    "hours": "จำนวนชั่วโมง",
    "visited_on": "วันที่เยี่ยม",
    "progress": "ความก้าวหน้า",
    "progress_percent": "ความก้าวหน้า (ร้อยละ)",
    "problems": "ปัญหาที่พบ",
    "next_visit_on": "วันนัดเยี่ยมครั้งถัดไป",
    "standard": "มาตรฐาน",
    "standard_name": "ชื่อมาตรฐาน",
    "number": "เลขที่",
    "issued_on": "วันที่ออก",
    "expires_on": "วันหมดอายุ",
    "pdpa_basis": "ฐานการประมวลผลข้อมูลส่วนบุคคล",
    "consent_given_at": "วันเวลาที่ให้ความยินยอม",
    "username": "ชื่อผู้ใช้",
    "password": "รหัสผ่าน",
    "url": "URL",
    "limit": "จำนวนต่อหน้า",
    "cursor": "ตำแหน่งอ่านต่อ",
}

_DEFAULT_LABEL_TH = "ช่องนี้"

# pydantic error types our schemas produce → Thai, filled from the error's ``ctx``
# and ``{label}`` (the field's Thai label).
VALIDATION_TH: Final[Mapping[str, str]] = {
    "missing": "กรุณากรอก{label}",
    "string_type": "{label}ต้องเป็นข้อความ",
    "string_too_short": "{label}ต้องมีอย่างน้อย {min_length} ตัวอักษร",
    "string_too_long": "{label}ต้องมีไม่เกิน {max_length} ตัวอักษร",
    "string_pattern_mismatch": "{label}มีรูปแบบไม่ถูกต้อง",
    "enum": "{label}ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: {expected}",
    "literal_error": "{label}ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: {expected}",
    "int_type": "{label}ต้องเป็นจำนวนเต็ม",
    "int_parsing": "{label}ต้องเป็นจำนวนเต็ม",
    "int_from_float": "{label}ต้องเป็นจำนวนเต็ม ไม่มีทศนิยม",
    "float_type": "{label}ต้องเป็นตัวเลข",
    "float_parsing": "{label}ต้องเป็นตัวเลข",
    "bool_type": "{label}ต้องเป็น true หรือ false",
    "bool_parsing": "{label}ต้องเป็น true หรือ false",
    "date_type": "{label}ต้องเป็นวันที่รูปแบบ YYYY-MM-DD (ปี ค.ศ.)",
    "date_parsing": "{label}ต้องเป็นวันที่รูปแบบ YYYY-MM-DD (ปี ค.ศ.)",
    "date_from_datetime_parsing": "{label}ต้องเป็นวันที่รูปแบบ YYYY-MM-DD (ปี ค.ศ.)",
    "date_from_datetime_inexact": "{label}ต้องเป็นวันที่ ไม่มีเวลา",
    "datetime_type": "{label}ต้องเป็นวันและเวลารูปแบบ RFC 3339 พร้อมเขตเวลา",
    "datetime_parsing": "{label}ต้องเป็นวันและเวลารูปแบบ RFC 3339 พร้อมเขตเวลา",
    "datetime_from_date_parsing": "{label}ต้องเป็นวันและเวลารูปแบบ RFC 3339 พร้อมเขตเวลา",
    "timezone_aware": "{label}ต้องระบุเขตเวลา เช่น +07:00",
    "greater_than": "{label}ต้องมากกว่า {gt}",
    "greater_than_equal": "{label}ต้องไม่น้อยกว่า {ge}",
    "less_than": "{label}ต้องน้อยกว่า {lt}",
    "less_than_equal": "{label}ต้องไม่เกิน {le}",
    "multiple_of": "{label}ต้องเป็นจำนวนเท่าของ {multiple_of}",
    "extra_forbidden": "ไม่มีช่องนี้ในแบบฟอร์ม กรุณานำออก",
    "uuid_type": "{label}ต้องเป็นรหัส UUID",
    "uuid_parsing": "{label}ต้องเป็นรหัส UUID",
    "list_type": "{label}ต้องเป็นรายการ",
    "too_short": "{label}ต้องมีอย่างน้อย {min_length} รายการ",
    "too_long": "{label}มีได้ไม่เกิน {max_length} รายการ",
    "unique_items": "{label}มีรายการซ้ำกัน",
    "dict_type": "{label}ต้องเป็นออบเจกต์ JSON",
    "model_type": "{label}ต้องเป็นออบเจกต์ JSON",
    "model_attributes_type": "{label}ต้องเป็นออบเจกต์ JSON",
    "url_type": "{label}ต้องเป็น URL",
    "url_parsing": "{label}ต้องเป็น URL ที่ถูกต้อง",
    "url_scheme": "{label}ต้องขึ้นต้นด้วย {expected_schemes}",
    "none_required": "{label}ต้องเว้นว่าง",
}


_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")

Compiled = tuple[Mapping[str, str], list[tuple[re.Pattern[str], str]]]


def _compile(catalogue: Mapping[str, str]) -> Compiled:
    templates = []
    for english, thai in catalogue.items():
        if "{" not in english:
            continue
        pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(english))
        templates.append((re.compile(pattern + r"\Z", re.DOTALL), thai))
    return catalogue, templates


_DETAILS = _compile(DETAILS_TH)
_FIELD_MESSAGES = _compile(FIELD_MESSAGES_TH)


def _lookup(compiled: Compiled, english: str) -> str | None:
    exact, templates = compiled
    if english in exact:
        return exact[english]
    for pattern, thai in templates:
        found = pattern.match(english)
        if found:
            return thai.format(**found.groupdict())
    return None


def detail_th(english: str) -> str | None:
    """The Thai text of a problem ``detail``, or None when there is none yet."""
    return _lookup(_DETAILS, english)


def field_message_th(english: str) -> str | None:
    """The Thai text of an ``errors[].message`` a service wrote itself."""
    return _lookup(_FIELD_MESSAGES, english) or _lookup(_DETAILS, english)


def title_th(slug: str, status: int) -> str | None:
    return TITLES_TH.get(slug) or STATUS_TITLES_TH.get(status)


def field_label_th(loc: Iterable[Any]) -> str:
    """The Thai label of the innermost named field of a pydantic ``loc``."""
    for part in reversed(list(loc)):
        if isinstance(part, str) and part not in ("body", "query", "path", "header"):
            return FIELD_LABELS_TH.get(part, _DEFAULT_LABEL_TH)
    return _DEFAULT_LABEL_TH


def _ctx_text(value: Any) -> str:
    # pydantic lists choices as "'a', 'b' or 'c'".
    return str(value).replace(" or ", " หรือ ")


def validation_message_th(error: Mapping[str, Any]) -> str | None:
    """Thai for one pydantic error (``type``, ``loc``, ``ctx``), or None when unknown."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        # A validator's own ValueError: its text is the message id.
        return field_message_th(str(ctx.get("error", "")))
    template = VALIDATION_TH.get(kind)
    if template is None:
        # A PydanticCustomError of our own schemas: its text is the message id.
        return field_message_th(str(error.get("msg", "")))
    label = field_label_th(error.get("loc", ()))
    values = {key: _ctx_text(value) for key, value in ctx.items()}
    try:
        text = template.format(label=label, **values)
    except (KeyError, IndexError):
        return None
    return text
