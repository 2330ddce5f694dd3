;; A direct call through the jump table (relocated rel32) and an imported call.
(module
  (import "env" "g" (func $g (param i64) (result i64)))
  (func $f (param i32) (result i32) (local.get 0))
  (func (param i32 i64) (result i64)
    (i64.add
      (i64.extend_i32_u (call $f (local.get 0)))
      (call $g (local.get 1)))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 1: frame 48 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,30h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000030h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     rax,rsi
;;     27: mov     rbx,[rbp-8]
;;     2b: mov     rsp,rbp
;;     2e: pop     rbp
;;     2f: ret
;;     30: ud2  ; trap: StackOverflow
;; function 2: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000005Ah
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     [rbp-28h],esi
;;     27: mov     [rbp-30h],rdx
;;     2b: mov     rdi,rbx
;;     2e: call    0000000000000033h  ; reloc
;;     33: mov     eax,eax
;;     35: mov     rcx,[rbp-30h]
;;     39: mov     [rbp-38h],rax
;;     3d: mov     rsi,rcx
;;     40: mov     rdi,[rbx+40h]
;;     44: call    qword ptr [rbx+38h]
;;     47: mov     rcx,[rbp-38h]
;;     4b: add     rcx,rax
;;     4e: mov     rax,rcx
;;     51: mov     rbx,[rbp-8]
;;     55: mov     rsp,rbp
;;     58: pop     rbp
;;     59: ret
;;     5a: ud2  ; trap: StackOverflow
