;; Registers, an immediate operand, and constants folded at compile time.
(module
  (func (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 42)))
  (func (result i32)
    (i32.add (i32.const 40) (i32.const 2))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000034h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     rax,rsi
;;     29: add     eax,edx
;;     2b: mov     rbx,[rbp-8]
;;     2f: mov     rsp,rbp
;;     32: pop     rbp
;;     33: ret
;;     34: ud2  ; trap: StackOverflow
;; function 1: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000033h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     rax,rsi
;;     27: add     eax,2Ah
;;     2a: mov     rbx,[rbp-8]
;;     2e: mov     rsp,rbp
;;     31: pop     rbp
;;     32: ret
;;     33: ud2  ; trap: StackOverflow
;; function 2: frame 48 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,30h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000030h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     eax,2Ah
;;     27: mov     rbx,[rbp-8]
;;     2b: mov     rsp,rbp
;;     2e: pop     rbp
;;     2f: ret
;;     30: ud2  ; trap: StackOverflow
