;; The base of memory 0 stays in a register across accesses (the second load reuses rcx),
;; is given up across a call (which clobbers it) and at a join (the block's end), and is
;; loaded again after each.
(module
  (memory 1)
  (func $callee)
  (func (param i32 i32) (result i32)
    (local i32)
    (local.set 2 (i32.add (i32.load (local.get 0)) (i32.load offset=4 (local.get 1))))
    (call $callee)
    (i32.store (local.get 0) (local.get 2))
    (block
      (br_if 0 (local.get 1))
      (i32.store (local.get 1) (local.get 2)))
    (i32.load (local.get 1))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 32 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,20h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000002Bh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     rbx,[rbp-8]
;;     26: mov     rsp,rbp
;;     29: pop     rbp
;;     2a: ret
;;     2b: ud2  ; trap: StackOverflow
;; function 1: frame 80 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,50h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000007Bh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     rcx,[rbx+30h]
;;     2a: mov     eax,[rcx+rsi]  ; trap: MemoryOutOfBounds
;;     2d: mov     edi,[rcx+rdx+4]  ; trap: MemoryOutOfBounds
;;     31: add     eax,edi
;;     33: mov     [rbp-28h],esi
;;     36: mov     [rbp-30h],edx
;;     39: mov     [rbp-38h],eax
;;     3c: mov     rdi,rbx
;;     3f: call    0000000000000044h  ; reloc
;;     44: mov     eax,[rbp-28h]
;;     47: mov     ecx,[rbp-38h]
;;     4a: mov     rdx,[rbx+30h]
;;     4e: mov     [rdx+rax],ecx  ; trap: MemoryOutOfBounds
;;     51: mov     eax,[rbp-30h]
;;     54: test    eax,eax
;;     56: jne     0000000000000065h
;;     5c: mov     eax,[rbp-30h]
;;     5f: mov     ecx,[rbp-38h]
;;     62: mov     [rdx+rax],ecx  ; trap: MemoryOutOfBounds
;;     65: mov     eax,[rbp-30h]
;;     68: mov     rdx,[rbx+30h]
;;     6c: mov     ecx,[rdx+rax]  ; trap: MemoryOutOfBounds
;;     6f: mov     rax,rcx
;;     72: mov     rbx,[rbp-8]
;;     76: mov     rsp,rbp
;;     79: pop     rbp
;;     7a: ret
;;     7b: ud2  ; trap: StackOverflow
