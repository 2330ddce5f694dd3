//! Labels: positions in the code that branches and rip-relative operands refer to, bound
//! before or after their uses.
//!
//! Each label keeps a singly linked list (threaded through one shared vector) of the
//! not-yet-resolved references to it; binding the label walks that list once and patches
//! every reference, so each reference costs O(1) to record and O(1) to resolve.

/// A position in the code, created by [`Assembler::new_label`](crate::Assembler::new_label).
///
/// A label belongs to the assembler that created it. Using it with another assembler is a
/// programming error: it panics with "label from another assembler" when that assembler has
/// fewer labels, and otherwise silently refers to its label with the same number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Label(pub(crate) u32);

impl Label {
    /// The label's number within its assembler (dense, from 0).
    #[inline]
    pub const fn index(self) -> u32 {
        self.0
    }
}

/// How a reference to a label is written once the label's position is known.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FixupKind {
    /// A signed 8-bit displacement relative to `end` (short branches).
    Rel8,
    /// A signed 32-bit displacement relative to `end`, added to the value already stored
    /// there (branches, calls, rip-relative operands with an addend, label-difference data).
    Rel32,
}

/// One unresolved reference.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fixup {
    /// Offset of the displacement field.
    pub at: u32,
    /// Offset the displacement is relative to (usually the end of the instruction).
    pub end: u32,
    pub kind: FixupKind,
    /// Next reference to the same label, or `NONE`.
    next: u32,
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct LabelState {
    /// Bound position, or `NONE`.
    pos: u32,
    /// Head of the list of pending fixups, or `NONE`.
    head: u32,
}

/// The labels of one assembler and their pending references.
#[derive(Debug, Default)]
pub(crate) struct Labels {
    labels: Vec<LabelState>,
    fixups: Vec<Fixup>,
    /// Number of fixups recorded and not yet resolved.
    pending: usize,
}

/// What went wrong when a label was bound.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum BindError {
    AlreadyBound,
    /// A short reference at this offset cannot reach the label.
    ShortOutOfRange {
        at: u32,
    },
}

const FOREIGN: &str = "label from another assembler";

impl Labels {
    #[inline]
    pub fn create(&mut self) -> Label {
        let index = u32::try_from(self.labels.len()).expect("more than 2^32 labels");
        self.labels.push(LabelState {
            pos: NONE,
            head: NONE,
        });
        Label(index)
    }

    /// Forgets every label and reference, keeping the allocations.
    #[inline]
    pub fn clear(&mut self) {
        self.labels.clear();
        self.fixups.clear();
        self.pending = 0;
    }

    /// The bound position of `label`, if bound.
    #[inline]
    pub fn pos(&self, label: Label) -> Option<u32> {
        let pos = self.labels.get(label.0 as usize).expect(FOREIGN).pos;
        (pos != NONE).then_some(pos)
    }

    /// Records a reference to a not-yet-bound label.
    #[inline]
    pub fn add_fixup(&mut self, label: Label, at: u32, end: u32, kind: FixupKind) {
        let state = self.labels.get_mut(label.0 as usize).expect(FOREIGN);
        debug_assert_eq!(state.pos, NONE);
        let index = self.fixups.len() as u32;
        self.fixups.push(Fixup {
            at,
            end,
            kind,
            next: state.head,
        });
        state.head = index;
        self.pending += 1;
    }

    /// Binds `label` at `pos` and patches all its pending references in `code`.
    /// On a short reference out of range the other references are still patched.
    #[inline]
    pub fn bind(&mut self, label: Label, pos: u32, code: &mut [u8]) -> Result<(), BindError> {
        let state = self.labels.get_mut(label.0 as usize).expect(FOREIGN);
        if state.pos != NONE {
            return Err(BindError::AlreadyBound);
        }
        state.pos = pos;
        let mut next = std::mem::replace(&mut state.head, NONE);
        let mut result = Ok(());
        while next != NONE {
            let fixup = self.fixups[next as usize];
            self.pending -= 1;
            if !patch(code, fixup.at, fixup.end, fixup.kind, pos) {
                result = result.and(Err(BindError::ShortOutOfRange { at: fixup.at }));
            }
            next = fixup.next;
        }
        result
    }

    /// Whether some reference still waits for its label.
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.pending != 0
    }

    /// The first label (by number) with a pending reference.
    #[inline]
    pub fn first_unbound_referenced(&self) -> Option<Label> {
        self.labels
            .iter()
            .position(|s| s.pos == NONE && s.head != NONE)
            .map(|i| Label(i as u32))
    }
}

/// Writes the displacement from `end` to `target` into the field at `at` of `code`; false if
/// a rel8 does not reach. Offsets are below 2^31 (`finish` rejects larger code), so a rel32
/// always reaches.
pub(crate) fn patch(code: &mut [u8], at: u32, end: u32, kind: FixupKind, target: u32) -> bool {
    let delta = i64::from(target) - i64::from(end);
    let at = at as usize;
    match kind {
        FixupKind::Rel8 => match i8::try_from(delta) {
            Ok(d) => {
                code[at] = d as u8;
                true
            }
            Err(_) => false,
        },
        FixupKind::Rel32 => {
            let field: [u8; 4] = code[at..at + 4].try_into().expect("4-byte field");
            let addend = i32::from_le_bytes(field);
            let value = (delta as i32).wrapping_add(addend);
            code[at..at + 4].copy_from_slice(&value.to_le_bytes());
            true
        }
    }
}
