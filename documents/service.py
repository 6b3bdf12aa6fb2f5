"""Issuing a case's documents: render, sign (PAdES) by both inspectors, store, record.

A finalized document is never regenerated over itself: issuing again is refused, and a
correction is a new document that points at the one it replaces.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from documents import collect_case, documents_for_case
from documents.keys import WRONG_PASSPHRASE, certificate_fingerprint, load_identity
from documents.reinspection_content import reinspection_opinion_pdf
from documents.signing import is_demo_signer, sha256_hex, sign_pdf
from models.documents import Document, DocumentKind, Signature, issued_documents, signature_image_path
from models.base import utcnow
from models.errors import FieldCheckError, ValidationError
from models.flush_hooks import session_now
from models.inspection import InspectionKind
from models.inspection_rules import get_inspection
from models.settings_rules import check_ready_to_issue
from models.paths import atomic_write_bytes
from models.store import Store
from models.store_mode import is_demo_store

DOCUMENTS_DIR = "documents"
KIND_LABEL = {
    DocumentKind.INSPECTION_RECORD: "现场检查记录",
    DocumentKind.RECTIFICATION_ORDER: "责令限期整改指令书",
    DocumentKind.ONSITE_MEASURES: "现场处理措施决定书",
    DocumentKind.REINSPECTION_OPINION: "整改复查意见书",
}


@dataclass
class SigningInput:
    """What the team supplied at the signing step."""

    images: dict[str, bytes]                 # role -> PNG of the handwritten signature
    passphrases: dict[uuid.UUID, str]        # inspector id -> passphrase of their key
    refused: bool = False                    # the enterprise's person in charge refused
    representative_name: str = ""
    witness_name: str = ""
    expert_name: str = ""                    # an invited 检查专家 who signs too (optional)
    signers: dict[uuid.UUID, object] = field(default_factory=dict)  # preloaded (demo) signers
    # The moment the team signed on site: in every PAdES signature and every Signature row.
    # None: the moment the documents are signed (the signing step runs on site).
    signed_at: datetime | None = None


def document_file(data_dir: Path, doc: Document) -> Path:
    return Path(data_dir) / doc.file_name


def render_documents(session, inspection, photos_dir: Path,
                     sign: SigningInput | None = None) -> list[tuple[DocumentKind, str, bytes]]:
    """The unsigned PDFs of an inspection: the case's documents, or a re-inspection's opinion.
    Every document of a demo store carries the 演示 watermark (models.store_mode)."""
    from documents.layout import watermarked
    demo = is_demo_store(session.info.get("data_dir"))
    with watermarked("演示" if demo else ""):
        return _render(session, inspection, photos_dir, sign)


def _render(session, inspection, photos_dir: Path, sign: SigningInput | None):
    images, refused = (sign.images, sign.refused) if sign else ({}, False)
    if inspection.kind == InspectionKind.REINSPECTION:
        number, pdf = reinspection_opinion_pdf(session, inspection.id, photos_dir, images, refused)
        return [(DocumentKind.REINSPECTION_OPINION, number, pdf)]
    content = collect_case(session, inspection.id, photos_dir, images, refused,
                           sign.witness_name if sign else "", sign.expert_name if sign else "")
    return documents_for_case(content)


def unlock_signer(data_dir: Path, inspector_id: uuid.UUID, name: str, passphrase: str):
    """The inspector's signer, opened now — at the moment the passphrase is typed, so a wrong
    one is said before the next person signs — with a refusal that names whose it was."""
    try:
        return load_identity(data_dir, inspector_id, passphrase)
    except FieldCheckError as exc:
        if exc.message == WRONG_PASSPHRASE:
            raise FieldCheckError(f"{name} 的签名口令不正确",
                                  f"请 {name} 本人重新输入签名口令（区分大小写）") from exc
        raise FieldCheckError(f"{name}：{exc.message}", exc.hint) from exc


def _check_signing(sign: SigningInput, team) -> None:
    problems = [f"缺少执法人员 {m.inspector.name} 的签名" for n, m in enumerate(team[:2], 1)
                if f"inspector{n}" not in sign.images]
    if sign.refused and "witness" not in sign.images:
        problems.append("被检查单位拒绝签字时，须由见证人签名")
    if not sign.refused and "representative" not in sign.images:
        problems.append("缺少被检查单位现场负责人的签名（或记录其拒绝签字）")
    if problems:
        raise ValidationError("文书尚不能签署", problems)


def _store_image(data_dir: Path, png: bytes) -> str:
    digest = sha256_hex(png)
    target = signature_image_path(data_dir, digest)
    if not target.exists():
        atomic_write_bytes(target, png)
    return digest


def issue_case_documents(store: Store, inspection_id: uuid.UUID, sign: SigningInput,
                         actor: str | None = None, correction: bool = False) -> list[Document]:
    """Render, sign and store every document of a finalized inspection or re-inspection."""
    if any(map(is_demo_signer, sign.signers.values())) and not is_demo_store(store.data_dir):
        # Signers unlocked at entry are people's own; demo ones sign only in a demo store.
        raise FieldCheckError("只有演示数据可以使用演示签名", "请由执法人员用本人的签名证书签署")
    with store.session() as s:
        inspection = get_inspection(s, inspection_id)
        team = list(inspection.team)[:2]
        existing = issued_documents(s, inspection_id)
        if existing and not correction:
            raise FieldCheckError("本次检查的文书已经签署生成，不能重新生成覆盖",
                                  "如需更正，请使用“更正文书”，原文书保留并被引用")
        check_ready_to_issue(s)
        _check_signing(sign, team)
        unsigned = render_documents(s, inspection, store.photos_dir, sign)
        place = inspection.place
        previous = {d.kind: d.id for d in existing}
        people = [(m.inspector.id, m.inspector.name) for m in team]
    signers = {pid: sign.signers.get(pid)
               or unlock_signer(store.data_dir, pid, name, sign.passphrases.get(pid, ""))
               for pid, name in people}
    # The real clock (certificates are checked against it), in whole seconds as PDF dates are.
    signed_at = (sign.signed_at or utcnow()).replace(microsecond=0)
    rendered = []
    for kind, number, pdf in unsigned:
        for n, (pid, _name) in enumerate(people, 1):
            pdf = sign_pdf(pdf, signers[pid], f"inspector{n}", location=place, signed_at=signed_at)
        digest = sha256_hex(pdf)
        name = f"{DOCUMENTS_DIR}/{digest}.pdf"
        atomic_write_bytes(Path(store.data_dir) / name, pdf)
        rendered.append((kind, number, name, digest))
    images = {role: _store_image(store.data_dir, png) for role, png in sign.images.items()}
    with store.transaction(actor=actor, label="issue_documents") as s:
        now = session_now(s)
        docs = []
        for kind, number, name, digest in rendered:
            doc = Document(inspection_id=inspection_id, kind=kind, number=number, file_name=name,
                           sha256=digest, finalized_at=now, supersedes_id=previous.get(kind))
            s.add(doc)
            for n, (pid, pname) in enumerate(people, 1):
                cert = signers[pid].signing_cert
                s.add(Signature(document=doc, role=f"inspector{n}", signer_name=pname,
                                image_sha256=images.get(f"inspector{n}"), signed_at=signed_at,
                                certificate_fingerprint=certificate_fingerprint(cert)))
            s.add(Signature(document=doc, role="representative", signer_name=sign.representative_name,
                            refused=sign.refused, image_sha256=images.get("representative"),
                            signed_at=signed_at, note="拒绝签字" if sign.refused else ""))
            for role, person in (("witness", sign.witness_name), ("expert", sign.expert_name)):
                if role in images:
                    s.add(Signature(document=doc, role=role, signer_name=person,
                                    image_sha256=images[role], signed_at=signed_at))
            docs.append(doc)
        s.flush()
        return docs


def documents_to_hand_out(store: Store, inspection_id: uuid.UUID) -> list[tuple[Document, bytes]]:
    """The issued documents of an inspection, each exactly as stored when it was issued.

    Outside a demo store only documents that people signed leave: never rendered or signed
    here, the file must still match its recorded SHA-256 and carry intact signatures that
    are not demo signatures. A demo store's unsigned inspection is issued with demo
    signatures first (documents.demo_signing)."""
    from documents.signing import verify_pdf
    demo = is_demo_store(store.data_dir)
    with store.session() as s:
        get_inspection(s, inspection_id)
        docs = issued_documents(s, inspection_id)
    if not docs and not demo:
        raise FieldCheckError("该检查的文书尚未签署生成（未经执法人员签字）",
                              "请在程序中定稿并完成签字后再导出")
    if not docs:
        from documents.demo_signing import demo_signing_input
        docs = issue_case_documents(store, inspection_id, demo_signing_input(store, inspection_id),
                                    actor="演示数据")
    out = []
    for doc in docs:
        try:
            data = document_file(store.data_dir, doc).read_bytes()
        except OSError as exc:
            raise FieldCheckError(f"文书 {doc.number} 的文件无法读取（{exc.strerror or exc}）",
                                  "请从备份恢复数据文件夹中的 documents 文件夹") from exc
        if sha256_hex(data) != doc.sha256:
            raise FieldCheckError(f"文书 {doc.number} 的文件与签发时不同，已拒绝导出",
                                  "该文件被改动或替换；请运行 status 检查，并从备份恢复")
        report = verify_pdf(data)
        if not demo and (not report.intact or report.demo):
            raise FieldCheckError(f"文书 {doc.number} 的签名无效或为演示签名，已拒绝导出",
                                  "请运行 verify 查看详情")
        out.append((doc, data))
    return out
