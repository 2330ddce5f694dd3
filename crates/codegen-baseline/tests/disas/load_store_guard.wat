;; Guard regions: no bounds check, the access itself is the trap site.
(module
  (memory 1)
  (func (param i32) (result i64)
    (i64.load32_s offset=8 (local.get 0)))
  (func (param i32 i32)
    (i32.store8 (local.get 0) (local.get 1))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 48 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,30h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000036h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     rcx,[rbx+30h]
;;     28: movsxd  rax,[rcx+rsi+8]  ; trap: MemoryOutOfBounds
;;     2d: mov     rbx,[rbp-8]
;;     31: mov     rsp,rbp
;;     34: pop     rbp
;;     35: ret
;;     36: ud2  ; trap: StackOverflow
;; function 1: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000036h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     rax,[rbx+30h]
;;     2a: mov     [rax+rsi],dl  ; trap: MemoryOutOfBounds
;;     2d: mov     rbx,[rbp-8]
;;     31: mov     rsp,rbp
;;     34: pop     rbp
;;     35: ret
;;     36: ud2  ; trap: StackOverflow
