;; Seven integer arguments: the last two go on the stack, and the callee pops them.
(module
  (func $f (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.add (local.get 5) (local.get 6)))
  (func (param i32) (result i32)
    (call $f (local.get 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
             (i32.const 5) (local.get 0))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 112 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,70h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000059h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     ecx,ecx
;;     28: mov     r8d,r8d
;;     2b: mov     r9d,r9d
;;     2e: movsd   xmm15,[rbp+10h]
;;     34: movsd   [rbp-50h],xmm15
;;     3a: movsd   xmm15,[rbp+18h]
;;     40: movsd   [rbp-58h],xmm15
;;     46: mov     eax,[rbp-50h]
;;     49: mov     edi,[rbp-58h]
;;     4c: add     eax,edi
;;     4e: mov     rbx,[rbp-8]
;;     52: mov     rsp,rbp
;;     55: pop     rbp
;;     56: ret     10h
;;     59: ud2  ; trap: StackOverflow
;; function 1: frame 96 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,60h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000005Fh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     [rbp-28h],esi
;;     27: sub     rsp,10h
;;     2b: mov     dword ptr [rsp],5
;;     32: mov     [rsp+8],esi
;;     36: mov     edx,1
;;     3b: mov     ecx,2
;;     40: mov     r8d,3
;;     46: mov     r9d,4
;;     4c: mov     rdi,rbx
;;     4f: call    0000000000000054h  ; reloc
;;     54: mov     eax,eax
;;     56: mov     rbx,[rbp-8]
;;     5a: mov     rsp,rbp
;;     5d: pop     rbp
;;     5e: ret
;;     5f: ud2  ; trap: StackOverflow
