;; memory.grow calls a builtin: live values are spilled first, the result comes back in rax.
(module
  (memory 1)
  (func (param i32 i64) (result i64)
    (local.get 1)
    (i64.extend_i32_u (memory.grow (local.get 0)))
    (i64.add)))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000053h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     [rbp-28h],esi
;;     27: mov     [rbp-30h],rdx
;;     2b: mov     [rbp-38h],rdx
;;     2f: mov     rdx,rsi
;;     32: xor     esi,esi
;;     34: mov     rdi,rbx
;;     37: mov     r11,[rbx+10h]
;;     3b: call    qword ptr [r11]
;;     3e: mov     eax,eax
;;     40: mov     rcx,[rbp-38h]
;;     44: add     rcx,rax
;;     47: mov     rax,rcx
;;     4a: mov     rbx,[rbp-8]
;;     4e: mov     rsp,rbp
;;     51: pop     rbp
;;     52: ret
;;     53: ud2  ; trap: StackOverflow
